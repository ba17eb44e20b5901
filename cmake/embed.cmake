# Embed a text file in C++ as a raw string literal returned by a function.
#   cmake -DINPUT=<file> -DOUTPUT=<file.cpp> -DHEADER=<include> -DFUNCTION=<ns::name> -P embed.cmake
# The delimiter is chosen so that `)<delimiter>"` does not occur in the text.
foreach(var INPUT OUTPUT HEADER FUNCTION)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "embed.cmake: ${var} is not set")
  endif()
endforeach()

file(READ "${INPUT}" content)
set(n 0)
set(delim "embed")
string(FIND "${content}" ")${delim}\"" found)
while(NOT found EQUAL -1)
  math(EXPR n "${n} + 1")
  set(delim "embed${n}")
  string(FIND "${content}" ")${delim}\"" found)
endwhile()

string(REGEX MATCH "^(.*)::([^:]+)$" _ "${FUNCTION}")
set(ns "${CMAKE_MATCH_1}")
set(fn "${CMAKE_MATCH_2}")
get_filename_component(input_name "${INPUT}" NAME)

file(WRITE "${OUTPUT}.tmp"
  "// Generated from ${input_name} by cmake/embed.cmake: do not edit.\n"
  "#include \"${HEADER}\"\n\n"
  "namespace ${ns} {\n\n"
  "std::string_view ${fn}() {\n"
  "  static constexpr std::string_view text = R\"${delim}(${content})${delim}\";\n"
  "  return text;\n"
  "}\n\n"
  "}  // namespace ${ns}\n")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUTPUT}.tmp")
