/* zz_stubs.c - placeholders for the commands not written yet (removed as they land). */
#include "cli.h"
#define STUB(n) static const cmd_item n##_items[] = {END_ITEMS}; int cmd_##n(int c, char **v) { (void)c, (void)v; return 1; } \
  const cmd_desc cmd_##n##_desc = {#n, "", "todo", "todo", n##_items, cmd_##n};
STUB(train) STUB(init) STUB(eval) STUB(predict) STUB(info) STUB(demo)
