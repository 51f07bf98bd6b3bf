"""Training and inference throughput of PyTorch on the same shapes, data and
loop as bench_train.c (Adam, shuffled mini-batches, relu hidden): Fashion-MNIST's
first SAMPLES images, or synthetic data labelled by a random linear teacher.

    torch_train.py LAYERS BATCH LOSS THREADS SAMPLES [REPEATS [DATA]]
    DATA: synthetic (the default), fashion-mnist, or a CSV file of numbers whose
    last column is the class (bench/run.py's digits.csv, as bench_train reads it)
A data set of fewer than SAMPLES rows is trained on for as many epochs as make
up SAMPLES samples (rounded up), as bench_train does.
Prints one line per repeat: "train <samples/s> predict <samples/s>"."""
import resource
import sys
import time

import torch

from fashion_torch import load as load_fashion_mnist


def synthetic(n, inputs, k, loss_name):
    """Inputs uniform in [0, 1); t = (x - 1/2) T for a random T: the class
    argmax t (xent), the bits t > 0 (bce), or t (mse)."""
    teacher = torch.rand(inputs, k) * 2 - 1
    x = torch.rand(n, inputs)
    t = (x - 0.5) @ teacher
    if loss_name == "xent":
        return x, t.argmax(dim=1)
    return x, (t > 0).float() if loss_name == "bce" else t


def main():
    layers = [int(v) for v in sys.argv[1].split(",")]
    batch, loss_name, threads, n = int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    repeats = int(sys.argv[6]) if len(sys.argv) > 6 else 3
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    mods = []
    for i in range(len(layers) - 1):
        mods.append(torch.nn.Linear(layers[i], layers[i + 1]))
        if i < len(layers) - 2:
            mods.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*mods)
    k = layers[-1]
    data = sys.argv[7] if len(sys.argv) > 7 else "synthetic"
    if data == "fashion-mnist":
        x, y = load_fashion_mnist("train")
        x, y = x[:n], y[:n]
    elif data == "synthetic":
        x, y = synthetic(n, layers[0], k, loss_name)
    elif data.endswith(".csv") and loss_name == "xent":
        import numpy as np
        a = np.loadtxt(data, delimiter=",", dtype=np.float64)
        x, y = torch.from_numpy(a[:, :-1].astype(np.float32)), torch.from_numpy(a[:, -1].astype(np.int64))
        x, y = x[:n], y[:n]
    else:
        sys.exit(f"torch_train.py: DATA '{data}': synthetic, fashion-mnist, or a .csv file (xent)")
    epochs = (n + len(x) - 1) // len(x)  # a small data set: several epochs a repeat
    n = len(x)
    loss_fn = {"xent": torch.nn.CrossEntropyLoss, "bce": torch.nn.BCEWithLogitsLoss,
               "mse": torch.nn.MSELoss}[loss_name]()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(epochs):
            perm = torch.randperm(n)
            for s in range(0, n, batch):
                idx = perm[s:s + batch]
                opt.zero_grad(set_to_none=True)
                loss = loss_fn(model(x[idx]), y[idx])
                loss.backward()
                opt.step()
        train = n * epochs / (time.perf_counter() - t0)
        t0 = time.perf_counter()
        with torch.no_grad():
            for s in range(0, n, 1024):
                model(x[s:s + 1024])
        pred = n / (time.perf_counter() - t0)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"train {train:.0f} predict {pred:.0f} rss_mb {rss:.1f}", flush=True)


if __name__ == "__main__":
    main()
