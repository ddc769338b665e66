# The folder dependency rules of the Code map (README), checked when CMake
# configures: a target that reaches a forbidden library, directly or through
# any library it links, fails the configure step with the path that leads there.

# Appends to `out` every target/library `target` links, transitively.
function(_pier_link_closure target out)
  set(seen "")
  set(queue ${target})
  while(queue)
    list(POP_FRONT queue t)
    if(NOT TARGET ${t} OR t IN_LIST seen)
      continue()
    endif()
    list(APPEND seen ${t})
    get_target_property(libs ${t} INTERFACE_LINK_LIBRARIES)
    get_target_property(type ${t} TYPE)
    if(NOT type STREQUAL "INTERFACE_LIBRARY")
      get_target_property(direct ${t} LINK_LIBRARIES)
      if(direct)
        list(APPEND libs ${direct})
      endif()
    endif()
    foreach(l ${libs})
      if(l AND NOT l MATCHES "^\\$<" AND NOT l IN_LIST seen)
        list(APPEND queue ${l})
        list(APPEND closure ${l})
      endif()
    endforeach()
  endwhile()
  set(${out} ${closure} PARENT_SCOPE)
endfunction()

# pier_forbid_links(<target> <library>...): configure fails if <target>
# links any <library>.
function(pier_forbid_links target)
  _pier_link_closure(${target} closure)
  foreach(bad ${ARGN})
    if(bad IN_LIST closure)
      message(FATAL_ERROR "${target} must not link ${bad} (see the Code map in README.md)")
    endif()
  endforeach()
endfunction()
