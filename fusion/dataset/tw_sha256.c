/* Content hashes for the manifest, through OpenSSL's libcrypto (EVP). */
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "tw_sim.h"
#include "tw_dataset_int.h"

int tw_sha256_file(const char *path, char hex[65], char *msg, size_t msgsz)
{
    /* "builtin" is the model shipped in the binary: hash its text. */
    FILE *f = strcmp(path, "builtin") ? fopen(path, "rb")
                                      : fmemopen((void *)tw_builtin_model_xml, tw_builtin_model_len, "rb");
    if (!f)
        return tw_errf(msg, msgsz, TW_EIO, "sha256: open %s: %s", path, strerror(errno));
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int rc = 0;
    if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
        rc = tw_errf(msg, msgsz, TW_ENOMEM, "sha256: cannot create digest context");
        goto out;
    }
    unsigned char buf[1 << 16];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        EVP_DigestUpdate(ctx, buf, n);
    if (ferror(f)) {
        rc = tw_errf(msg, msgsz, TW_EIO, "sha256: read %s: %s", path, strerror(errno));
        goto out;
    }
    unsigned char md[32];
    unsigned int mdlen = 0;
    EVP_DigestFinal_ex(ctx, md, &mdlen);
    for (unsigned i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
out:
    EVP_MD_CTX_free(ctx);
    fclose(f);
    return rc;
}
