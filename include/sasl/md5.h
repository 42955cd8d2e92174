/* md5.h: part of the libsasl2 plugin interface, source-compatible with Cyrus
 * SASL 2.1.28. Its declarations are generated into saslplug.h; this file
 * keeps existing #include lines working. */
#include "saslplug.h"
