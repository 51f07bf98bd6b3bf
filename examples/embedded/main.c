/* main.c - the embedded demo: a Cortex-M4 classifies Fashion-MNIST images
 * with a model trained and exported by backprop, no library, no malloc.
 *
 *   backprop train --data fashion-mnist --layers 784,64,10 --save fm.safetensors
 *   backprop export --model fm.safetensors --format c --output fm.c \
 *                   --quantize int8 --calibrate fashion-mnist
 *   arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 -Os \
 *                     main.c fm.c ... (the Makefile's embedded-demo has the whole line)
 *
 * `make embedded-demo` does all of it and runs the result under qemu. */
#include "fm.h"
#include "images.h"

#include <stdio.h>

int main(void)
{
    int right = 0;
    printf("int8 model (%d inputs, %d classes) on a Cortex-M4, %d Fashion-MNIST test images:\n",
           fm_INPUTS, fm_CLASSES, N_IMAGES);
    for (int i = 0; i < N_IMAGES; i++) {
        float x[fm_INPUTS], p[fm_OUTPUTS];
        for (int k = 0; k < fm_INPUTS; k++) x[k] = images[i][k]; /* raw pixels 0..255 */
        fm_predict(x, p);
        int c = fm_classify(x);
        right += c == truth[i];
        printf("  image %d: %-12s %3d%%  (true: %s)%s\n", i, fm_labels[c], (int)(100 * p[c] + 0.5f),
               fm_labels[truth[i]], c == truth[i] ? "" : "  <- wrong");
    }
    printf("%d of %d right\n", right, N_IMAGES);
    return 0;
}
