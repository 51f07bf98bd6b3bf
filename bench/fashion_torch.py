"""PyTorch's side of bench/fashion_accuracy.sh: the same network, optimizer,
batch size and epochs as fashion_train.c, each library with its own default
initialization and its own shuffling.

    fashion_torch.py SEED [EPOCHS [THREADS]]        (defaults 5, 1)
Prints one line per epoch, then "test_accuracy A seconds S"."""
import gzip
import os
import sys
import time

import numpy as np
import torch

DIR = os.path.join(os.environ.get("BP_DATASETS_DIR", "/usr/share/datasets"), "fashion-mnist")


def load(prefix):
    with gzip.open(os.path.join(DIR, prefix + "-images-idx3-ubyte.gz")) as f:
        x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784)
    with gzip.open(os.path.join(DIR, prefix + "-labels-idx1-ubyte.gz")) as f:
        y = np.frombuffer(f.read(), np.uint8, offset=8)
    return torch.from_numpy(x.astype(np.float32) / 255), torch.from_numpy(y.astype(np.int64))


def main():
    seed = int(sys.argv[1])
    epochs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    torch.set_num_threads(int(sys.argv[3]) if len(sys.argv) > 3 else 1)
    torch.manual_seed(seed)
    x, y = load("train")
    xt, yt = load("t10k")
    model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(),
                                torch.nn.Linear(256, 128), torch.nn.ReLU(),
                                torch.nn.Linear(128, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    secs = 0.0
    for e in range(epochs):
        t0 = time.perf_counter()
        perm = torch.randperm(len(x))
        total = correct = 0.0
        for s in range(0, len(x), 128):
            idx = perm[s:s + 128]
            opt.zero_grad(set_to_none=True)
            logits = model(x[idx])
            loss = loss_fn(logits, y[idx])
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
            correct += (logits.argmax(1) == y[idx]).sum().item()
        dt = time.perf_counter() - t0
        secs += dt
        print("epoch %d loss %.4f accuracy %.4f seconds %.1f" % (
            e + 1, total / len(x), correct / len(x), dt), flush=True)
    with torch.no_grad():
        acc = (model(xt).argmax(1) == yt).float().mean().item()
    print("test_accuracy %.4f seconds %.1f" % (acc, secs))


if __name__ == "__main__":
    main()
