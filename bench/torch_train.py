"""Training and inference throughput of PyTorch on random data, the same
shapes and loop as bench_train.c (Adam, shuffled mini-batches, relu hidden).

    torch_train.py LAYERS BATCH LOSS THREADS SAMPLES [REPEATS]
Prints one line per repeat: "train <samples/s> predict <samples/s>"."""
import resource
import sys
import time

import torch


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
    x = torch.rand(n, layers[0])
    k = layers[-1]
    if loss_name == "xent":
        y = torch.randint(0, k, (n,))
        loss_fn = torch.nn.CrossEntropyLoss()
    elif loss_name == "bce":
        y = torch.randint(0, 2, (n, k)).float()
        loss_fn = torch.nn.BCEWithLogitsLoss()
    else:
        y = torch.rand(n, k)
        loss_fn = torch.nn.MSELoss()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(repeats):
        t0 = time.perf_counter()
        perm = torch.randperm(n)
        for s in range(0, n, batch):
            idx = perm[s:s + batch]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
        train = n / (time.perf_counter() - t0)
        t0 = time.perf_counter()
        with torch.no_grad():
            for s in range(0, n, 1024):
                model(x[s:s + 1024])
        pred = n / (time.perf_counter() - t0)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"train {train:.0f} predict {pred:.0f} rss_mb {rss:.1f}", flush=True)


if __name__ == "__main__":
    main()
