#include "metrics/exposition.h"

#include <prometheus/text_serializer.h>

#include <sstream>

namespace pier::metrics {

void Exposition::Add(std::shared_ptr<const prometheus::Collectable> source) {
  std::lock_guard lock(mu_);
  sources_.push_back(std::move(source));
}

std::string Exposition::Text() const {
  std::vector<std::shared_ptr<const prometheus::Collectable>> sources;
  {
    std::lock_guard lock(mu_);
    sources = sources_;
  }
  std::vector<prometheus::MetricFamily> families;
  for (const auto& source : sources) {
    auto collected = source->Collect();
    families.insert(families.end(), std::make_move_iterator(collected.begin()),
                    std::make_move_iterator(collected.end()));
  }
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, families);
  return out.str();
}

prometheus::MetricFamily GaugeFamily(std::string name, std::string help) {
  prometheus::MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = prometheus::MetricType::Gauge;
  return f;
}

prometheus::MetricFamily CounterFamily(std::string name, std::string help) {
  prometheus::MetricFamily f = GaugeFamily(std::move(name), std::move(help));
  f.type = prometheus::MetricType::Counter;
  return f;
}

void Sample(prometheus::MetricFamily* family, double value, const LabelPairs& labels) {
  prometheus::ClientMetric m;
  for (const auto& [name, v] : labels) m.label.push_back({name, v});
  if (family->type == prometheus::MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  family->metric.push_back(std::move(m));
}

}  // namespace pier::metrics
