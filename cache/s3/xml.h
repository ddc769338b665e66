#pragma once
// A small, strict XML reader for S3's answers (ListBucketResult, Error,
// InitiateMultipartUploadResult, CopyObjectResult, DeleteResult, ...) and
// escaping for the XML bodies the client sends. Not a general XML parser:
// no DTDs, no CDATA, no processing instructions but the leading <?xml ...?>.
//
// Promises:
//  - any input, truncated or garbage, yields an InvalidArgument Status,
//    never a crash or an unbounded allocation: the tree holds at most
//    kMaxElements elements nested at most kMaxDepth deep, and its text is no
//    larger than the input;
//  - text is entity-decoded (&amp; &lt; &gt; &quot; &apos; &#N; &#xN;, the
//    numeric ones written as UTF-8); an unknown entity or a character
//    reference outside Unicode (or NUL, or a surrogate) is an error;
//  - element names are kept as written (S3 uses a default namespace, so
//    there are no prefixes); attributes are checked for shape and dropped.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace pier::s3::xml {

inline constexpr size_t kMaxDepth = 32;
inline constexpr size_t kMaxElements = 65536;  // a 1000-key list page has ~7000

struct Element {
  std::string name;
  std::string text;  // the decoded character data directly inside, whitespace kept
  std::vector<Element> children;

  // The first child named `name`, or null.
  const Element* Child(std::string_view name) const;
  // Every child named `name`, in order.
  std::vector<const Element*> Children(std::string_view name) const;
  // The text of the first child named `name`; empty when there is none.
  std::string ChildText(std::string_view name) const;
};

// Parses a whole document: optional <?xml ...?> prolog, comments and
// whitespace around exactly one root element.
Result<Element> Parse(std::string_view doc);

// Decodes the five predefined entities and character references.
Result<std::string> DecodeEntities(std::string_view text);

// Escapes text for an XML element's content or an attribute value.
std::string Escape(std::string_view text);

}  // namespace pier::s3::xml
