#include "fwcfg.h"

#include <string.h>

void fwcfg_init(struct fwcfg *f, uint64_t ram_size, uint16_t ncpus)
{
    memset(f, 0, sizeof(*f));
    f->ram_size = ram_size;
    f->ncpus = ncpus;
}

void fwcfg_select(struct fwcfg *f, uint16_t key)
{
    f->selector = key;
    f->offset = 0;
}

/* The bytes of one item (little-endian numbers, as QEMU stores them; the
 * file directory's count is big-endian, and 0 here). Returns its length. */
static unsigned item_bytes(const struct fwcfg *f, uint8_t out[8])
{
    uint64_t v;
    unsigned len;
    switch (f->selector) {
    case FWCFG_SIGNATURE: memcpy(out, "QEMU", 4); return 4;
    case FWCFG_ID:
        v = 1;
        len = 4;
        break;
    case FWCFG_RAM_SIZE:
        v = f->ram_size;
        len = 8;
        break;
    case FWCFG_NB_CPUS:
    case FWCFG_MAX_CPUS:
        v = f->ncpus;
        len = 2;
        break;
    case FWCFG_FILE_DIR:
        v = 0;
        len = 4;
        break;
    default: return 0;
    }
    for (unsigned i = 0; i < len; i++)
        out[i] = (uint8_t)(v >> (8 * i));
    return len;
}

uint8_t fwcfg_read(struct fwcfg *f)
{
    uint8_t bytes[8];
    unsigned len = item_bytes(f, bytes);
    if (f->offset >= len)
        return 0;
    return bytes[f->offset++];
}
