# Turns INPUT into a C++ source defining `const std::string_view SYMBOL`.
file(READ ${INPUT} hex HEX)
string(LENGTH "${hex}" hex_len)
math(EXPR byte_len "${hex_len} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
file(WRITE ${OUTPUT} "// Generated from ${INPUT}; do not edit.\n#include <string_view>\nnamespace loupe {\nstatic const unsigned char k${SYMBOL}Bytes[] = {${bytes}0x00};\nextern const std::string_view ${SYMBOL}(reinterpret_cast<const char*>(k${SYMBOL}Bytes), ${byte_len});\n}  // namespace loupe\n")
