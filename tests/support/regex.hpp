#pragma once
// <regex> for tests. g++ 12 at -O1 with the sanitizers warns
// (-Wmaybe-uninitialized) inside libstdc++'s regex automaton: a known false
// positive. The warning's location is the header's, so silencing it around the
// (first) include is enough; include this instead of <regex>.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <regex>
#pragma GCC diagnostic pop
