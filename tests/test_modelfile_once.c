/* test_modelfile_once.c - every model-file load reads the file once: the
 * front door (src/io/modelfile_load.c) reads the bytes, picks the format and
 * hands them to that reader, which must not open the file again. The
 * program's fopen wraps open + fdopen and counts the opens for reading.
 * (Not under AddressSanitizer, which intercepts fopen itself.) */
#include "tmpdir.h"

#include <fcntl.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define __SANITIZE_ADDRESS__ 1
#endif
#endif

static int n_read_opens;
#ifndef __SANITIZE_ADDRESS__
#define COUNTING_OPENS 1
FILE *fopen(const char *path, const char *mode)
{
    int plus = strchr(mode, '+') != NULL, flags;
    switch (mode[0]) {
    case 'r': flags = plus ? O_RDWR : O_RDONLY; n_read_opens++; break;
    case 'w': flags = (plus ? O_RDWR : O_WRONLY) | O_CREAT | O_TRUNC; break;
    case 'a': flags = (plus ? O_RDWR : O_WRONLY) | O_CREAT | O_APPEND; break;
    default: return NULL;
    }
    if (strchr(mode, 'x')) flags |= O_EXCL;
    int fd = open(path, flags | O_CLOEXEC, 0666);
    FILE *f = fd >= 0 ? fdopen(fd, mode) : NULL;
    if (!f && fd >= 0) close(fd);
    return f;
}
#endif

static bp_model *xor_model(void)
{
    bp_model_config mc = bp_model_config_default();
    mc.n_layers = 2, mc.sizes[0] = 2, mc.sizes[1] = 3, mc.sizes[2] = 2;
    mc.act[0] = BP_ACT_TANH, mc.act[1] = BP_ACT_SOFTMAX, mc.loss = BP_LOSS_XENT;
    bp_model *m = NULL;
    CHECK_OK(bp_model_create(&m, &mc));
    const char *const names[2] = {"no", "yes"};
    if (m) CHECK_OK(bp_model_set_labels(m, 2, names));
    return m;
}

static void test_each_load_reads_the_file_once(void)
{
    bp_model *m = xor_model();
    if (!m) return;
    bp_optim_config oc = bp_optim_config_default(BP_OPTIM_ADAM);
    bp_train_config tc = bp_train_config_default();
    bp_optim *o = NULL;
    bp_trainer *t = NULL;
    CHECK_OK(bp_optim_create(&o, &oc, bp_model_param_count(m)));
    if (o) CHECK_OK(bp_trainer_create(&t, m, o, &tc));
    CHECK_OK(bp_model_save(m, at("m.safetensors"), NULL));
    CHECK_OK(bp_model_save_onnx(m, at("m.onnx"), NULL));
    if (t) CHECK_OK(bp_checkpoint_save(t, at("m.ckpt"), NULL));

    const char *files[] = {"m.safetensors", "m.onnx", "m.ckpt"};
    for (int i = 0; i < 3; i++) {
        bp_model *back = NULL;
        bp_extra *extra = NULL;
        n_read_opens = 0;
        CHECK_OK(bp_model_load(&back, at(files[i]), &extra));
#ifdef COUNTING_OPENS
        CHECK(n_read_opens == 1, "bp_model_load of %s opened it %d times", files[i], n_read_opens);
#endif
        CHECK(back && bp_model_label_count(back) == 2, "%s: labels", files[i]);
        bp_model_free(back);
        bp_extra_free(extra);
    }
    /* a damaged file too: one open, one reader's refusal */
    size_t n;
    unsigned char *b = read_all(at("m.onnx"), &n);
    if (b) write_all(at("cut.onnx"), b, n / 2);
    free(b);
    bp_model *back = NULL;
    n_read_opens = 0;
    CHECK(bp_model_load(&back, at("cut.onnx"), NULL) == BP_ERR_FORMAT && !back &&
              strstr(bp_last_error(), "ONNX"), "%s", bp_last_error());
#ifdef COUNTING_OPENS
    CHECK(n_read_opens == 1, "a damaged file was opened %d times", n_read_opens);
#endif
    bp_optim *ob = NULL;
    bp_checkpoint_info info;
    n_read_opens = 0;
    CHECK_OK(bp_checkpoint_load(&back, &ob, at("m.ckpt"), &info, NULL));
#ifdef COUNTING_OPENS
    CHECK(n_read_opens == 1, "bp_checkpoint_load opened it %d times", n_read_opens);
#endif
    bp_model_free(back);
    bp_optim_free(ob);
    /* an ONNX file is no checkpoint, and says so */
    CHECK(bp_checkpoint_load(&back, &ob, at("m.onnx"), &info, NULL) == BP_ERR_FORMAT &&
              !back && !ob && strstr(bp_last_error(), "not a checkpoint"),
          "%s", bp_last_error());
#ifndef COUNTING_OPENS
    printf("note: opens not counted under AddressSanitizer\n");
#endif
    bp_trainer_free(t);
    bp_optim_free(o);
    bp_model_free(m);
}

int main(void)
{
    if (tmpdir_make("modelfile_once")) return 1;
    RUN(test_each_load_reads_the_file_once);
    tmpdir_remove();
    return test_summary("test_modelfile_once");
}
