/* LD_PRELOAD shim that lets Debian's Cyrus DIGEST-MD5 plugin use 3des/des.
 *
 * The plugin schedules DES keys with DES_key_sched(), which under OpenSSL 3
 * checks key parity and returns -1 for the (parity-less) keys DIGEST-MD5
 * derives, so Cyrus fails with "failed to init cipher '3des'".  OpenSSL 1.1's
 * DES_key_sched did not check parity by default; this shim restores that
 * behaviour (DES_set_key_unchecked, return 0).  It is preloaded into the
 * bench's auth SERVER always (so a client that supports 3des can be measured
 * against it); run.sh also reports a Cyrus-client 3des figure with the shim,
 * clearly labelled as such.  It changes nothing else.
 */
#define _GNU_SOURCE
#define OPENSSL_SUPPRESS_DEPRECATED
#include <dlfcn.h>
#include <openssl/des.h>
#include <stdlib.h>

int DES_key_sched(const_DES_cblock *key, DES_key_schedule *schedule)
{
    static void (*unchecked)(const_DES_cblock *, DES_key_schedule *);
    if (!unchecked) {
        void *h = dlopen("libcrypto.so.3", RTLD_NOW);
        if (h)
            *(void **)&unchecked = dlsym(h, "DES_set_key_unchecked");
        if (!unchecked)
            abort();
    }
    unchecked(key, schedule);
    return 0;
}
