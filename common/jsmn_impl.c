/* jsmn_impl.c — the one translation unit that compiles jsmn's parser.
 * JSMN_STRICT comes from json.h so the header and the code agree; every
 * other file includes <jsmn.h> only through json.h (with JSMN_HEADER). */
#define KIN_JSMN_IMPL
#include "json.h"
