#!/usr/bin/env bash
# test_core_no_heap.sh - the core (src/base, src/nn) as a device builds it:
# -DBP_NO_HEAP -DBP_NO_THREADS -DBP_NO_BLAS -ffp-contract=off, compiled here
# with the host's cc. Its objects must reference no malloc, calloc, realloc,
# free or aligned_alloc (memory comes from bp_alloc_set) and no file or stream
# function; a program over them trains the notes' XOR in an arena of
# bp_train_memory's bytes to 100%, and without an allocator gets BP_ERR_NOMEM
# with a message. The build's precision follows $BP_BUILD.
set -u
ok=0; failed=0
pass() { echo "ok   $1"; ok=$((ok + 1)); }
fail() { echo "FAIL $1"; failed=$((failed + 1)); }
case "$(basename "${BP_BUILD:-build/float}")" in *double*) real=-DBP_REAL_DOUBLE ;; *) real= ;; esac
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
flags="-Iinclude -Isrc/base -Isrc/nn $real -DBP_NO_HEAP -DBP_NO_THREADS -DBP_NO_BLAS -DNDEBUG
       -D_POSIX_C_SOURCE=200809L -std=c11 -Os -ffp-contract=off -Wall -Wextra -Werror"
built=1
for f in src/base/*.c src/nn/*.c; do
    cc $flags -c "$f" -o "$tmp/$(basename "$f" .c).o" 2>"$tmp/err" || { built=0; cat "$tmp/err"; }
done
if [ $built = 1 ]; then pass "the core compiles with BP_NO_HEAP BP_NO_THREADS BP_NO_BLAS"; else fail "core build"; fi
bad=$(nm -u "$tmp"/*.o | awk '{print $2}' | grep -xE 'malloc|calloc|realloc|free|aligned_alloc|posix_memalign|fopen|fclose|fread|fwrite|fprintf|printf|puts|open|read|write|pthread_create' | sort -u | tr '\n' ' ')
if [ -z "$bad" ]; then pass "no heap, file or thread symbols in the core's objects"; else fail "the core references: $bad"; fi
cat > "$tmp/xor.c" <<'C'
#include "backprop.h"
#include <stdio.h>
#include <string.h>
static const bp_real X[] = {0, 0, 0, 1, 1, 0, 1, 1}, Y[] = {0, 1, 1, 0};
static _Alignas(BP_ARENA_ALIGN) unsigned char mem[1 << 16];
int main(void)
{
    bp_model_config mc = bp_model_config_default();
    mc.n_layers = 2, mc.sizes[0] = 2, mc.sizes[1] = 4, mc.sizes[2] = 1;
    mc.act[0] = BP_ACT_TANH, mc.act[1] = BP_ACT_SIGMOID, mc.loss = BP_LOSS_BCE, mc.seed = 4;
    bp_optim_config oc = bp_optim_config_default(BP_OPTIM_ADAM);
    oc.lr = 0.05;
    bp_train_config tc = bp_train_config_default();
    tc.batch_size = 4, tc.seed = 9;
    bp_model *m = NULL;
    if (bp_model_create(&m, &mc) != BP_ERR_NOMEM || !strstr(bp_last_error(), "BP_NO_HEAP")) {
        printf("no allocator: %s\n", bp_last_error());
        return 1;
    }
    size_t bytes;
    if (bp_train_memory(&mc, 0, &oc, &tc, 4, &bytes) || bytes > sizeof mem) return 2;
    bp_arena arena;
    bp_arena_init(&arena, mem, bytes);
    bp_allocator a = bp_arena_allocator(&arena);
    bp_alloc_set(&a);
    bp_optim *o = NULL;
    bp_trainer *t = NULL;
    double acc = 0;
    bp_status st = bp_model_create(&m, &mc);
    if (!st) st = bp_optim_create(&o, &oc, bp_model_param_count(m));
    if (!st) st = bp_trainer_create(&t, m, o, &tc);
    for (int e = 0; !st && e < 300; e++) st = bp_trainer_epoch(t, X, Y, 4, NULL);
    if (!st) st = bp_model_evaluate(m, X, Y, 4, 4, NULL, &acc);
    printf("%s%s%s: accuracy %g in %zu of %zu bytes\n", bp_status_name(st), st ? " " : "",
           st ? bp_last_error() : "", acc, bp_arena_used(&arena), bytes);
    return st || acc != 1.0 || bp_arena_used(&arena) != bytes;
}
C
if cc $flags -o "$tmp/xor" "$tmp/xor.c" "$tmp"/*.o -lm 2>"$tmp/err"; then
    if out=$("$tmp/xor" 2>&1); then pass "xor in an arena, no heap: $out"; else fail "xor: $out"; fi
else
    fail "xor link: $(cat "$tmp/err")"
fi
echo "cases: $ok ok, $failed failed (test_core_no_heap.sh)"
[ "$failed" -eq 0 ]
