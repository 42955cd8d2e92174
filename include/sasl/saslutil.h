/* saslutil.h: part of the libsasl2 client API, source-compatible with Cyrus SASL
 * 2.1.28. Its declarations are generated into sasl.h (cbindgen writes one
 * header); this file keeps existing #include lines working. */
#include "sasl.h"
