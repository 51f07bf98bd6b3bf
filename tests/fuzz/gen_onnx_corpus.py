#!/usr/bin/python3
"""Writes the seed corpus of fuzz_onnx into tests/fuzz/corpus_onnx/: small
ONNX files backprop exports (every activation, normalization, labels, the
two-column sigmoid output), files torch.onnx.export writes (opsets 9 to 17,
Gemm and MatMul + Add, Flatten), the same with float_data instead of
raw_data, and broken ones (cut short, an unsupported op, a bad opset, and
graphs the specification forbids: a name given twice, encoder labels that
are not the model's).

    BP_BUILD=build/float /usr/bin/python3 tests/fuzz/gen_onnx_corpus.py
"""
import io, os, subprocess, sys, tempfile
import numpy as np
import onnx, onnx.numpy_helper
import torch

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BP = os.path.join(REPO, os.environ.get("BP_BUILD", "build/float"), "bin", "backprop")
OUT = os.path.join(REPO, "tests", "fuzz", "corpus_onnx")


def ours(tmp, name, args, data="xor"):
    sf = os.path.join(tmp, name + ".safetensors")
    subprocess.run([BP, "train", "--data", data, "--epochs", "1", "--quiet", "--save", sf] + args,
                   check=True, stdout=subprocess.DEVNULL)
    subprocess.run([BP, "export", "--model", sf, "--format", "onnx", "--output",
                    os.path.join(OUT, name + ".onnx")], check=True, stdout=subprocess.DEVNULL)


def torch_file(name, net, opset, inputs):
    buf = io.BytesIO()
    torch.onnx.export(net, torch.zeros(1, inputs), buf, opset_version=opset, input_names=["x"],
                      output_names=["y"], dynamic_axes={"x": {0: "n"}, "y": {0: "n"}})
    data = buf.getvalue()
    open(os.path.join(OUT, name + ".onnx"), "wb").write(data)
    return data


def to_float_data(data):
    m = onnx.load_from_string(data)
    for t in m.graph.initializer:
        a = onnx.numpy_helper.to_array(t)
        t.ClearField("raw_data")
        t.float_data.extend(a.ravel().tolist())
    return m.SerializeToString()


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        csv = os.path.join(tmp, "c.csv")
        with open(csv, "w") as f:
            f.write("a,b,c,label\n" + "".join(f"{i%3},{i%5},{i%7},{'xyz'[i%3]}\n" for i in range(30)))
        ours(tmp, "ours_tanh_bce", ["--layers", "2,3,1", "--act", "tanh"])
        ours(tmp, "ours_norm_relu", ["--layers", "2,3,1", "--act", "relu", "--normalize", "standard"])
        ours(tmp, "ours_leaky_mse", ["--layers", "2,3,2,1", "--act", "leaky_relu", "--out-act", "identity",
                                     "--loss", "mse", "--normalize", "scale"])
        ours(tmp, "ours_softmax_labels", ["--layers", "3,4,3", "--act", "sigmoid", "--normalize", "standard"], csv)
        ours(tmp, "ours_identity", ["--layers", "3,3", "--act", "identity"], csv)
    nets = {
        "torch_gemm": torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2),
                                          torch.nn.Softmax(dim=1)),
        "torch_flatten": torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3, 4), torch.nn.Tanh(),
                                             torch.nn.Linear(4, 1), torch.nn.Sigmoid()),
        "torch_leaky": torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.LeakyReLU(0.2), torch.nn.Linear(2, 2)),
    }
    for name, net in nets.items():
        for opset in (9, 11, 13, 17):
            data = torch_file(f"{name}_op{opset}", net.eval(), opset, 3)
        open(os.path.join(OUT, f"{name}_floatdata.onnx"), "wb").write(to_float_data(data))
    # MatMul + Add, as other exporters write a Linear layer
    w = np.arange(6, dtype=np.float32).reshape(3, 2) / 7
    b = np.array([0.5, -0.5], np.float32)
    h = onnx.helper
    g = h.make_graph([h.make_node("MatMul", ["x", "w"], ["h"], name="mm"),
                      h.make_node("Add", ["h", "b"], ["z"], name="add"),
                      h.make_node("Relu", ["z"], ["y"], name="relu")], "mm",
                     [h.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["n", 3])],
                     [h.make_tensor_value_info("y", onnx.TensorProto.FLOAT, ["n", 2])],
                     [onnx.numpy_helper.from_array(w, "w"), onnx.numpy_helper.from_array(b, "b")])
    mm = h.make_model(g, opset_imports=[h.make_opsetid("", 13)])
    open(os.path.join(OUT, "matmul_add.onnx"), "wb").write(mm.SerializeToString())
    # broken: cut short, an op we do not read, an opset out of range
    good = open(os.path.join(OUT, "torch_gemm_op13.onnx"), "rb").read()
    open(os.path.join(OUT, "broken_cut.onnx"), "wb").write(good[: len(good) // 2])
    conv = onnx.load_from_string(good)
    conv.graph.node[1].op_type = "Conv"
    open(os.path.join(OUT, "broken_conv.onnx"), "wb").write(conv.SerializeToString())
    old = onnx.load_from_string(good)
    old.opset_import[0].version = 7
    open(os.path.join(OUT, "broken_opset7.onnx"), "wb").write(old.SerializeToString())
    refusals()
    print(len(os.listdir(OUT)), "files in", OUT)


def refusals():
    """Graphs the ONNX specification forbids, each refused by its own check:
    an initializer named twice, a value written twice (SSA), a node writing
    the graph input or an initializer, encoder labels not the model's."""
    h = onnx.helper
    w = onnx.numpy_helper.from_array(np.arange(6, dtype=np.float32).reshape(3, 2) / 7, "w")
    b = onnx.numpy_helper.from_array(np.array([0.5, -0.5], np.float32), "b")
    b600 = onnx.numpy_helper.from_array(np.array([600, 600], np.float32), "b")

    def save(name, nodes, inits, meta=()):
        g = h.make_graph([h.make_node(*n[:3], name=n[3]) for n in nodes], "g",
                         [h.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["n", 3])],
                         [h.make_tensor_value_info("y", onnx.TensorProto.FLOAT, ["n", 2])], inits)
        m = h.make_model(g, opset_imports=[h.make_opsetid("", 13)])
        h.set_model_props(m, dict(meta))
        open(os.path.join(OUT, name + ".onnx"), "wb").write(m.SerializeToString())

    linear = [("MatMul", ["x", "w"], ["h"], "mm"), ("Add", ["h", "b"], ["y"], "add")]
    save("refused_dup_init", linear, [w, b, b600])
    save("refused_reuse", [("MatMul", ["x", "w"], ["h"], "mm"), ("Add", ["h", "b"], ["h"], "add"),
                           ("Relu", ["h"], ["y"], "relu")], [w, b])
    save("refused_write_input", [("MatMul", ["x", "w"], ["x"], "mm"), ("Add", ["x", "b"], ["y"], "add")], [w, b])
    save("refused_write_init", [("MatMul", ["x", "w"], ["b"], "mm"), ("Add", ["b", "b"], ["y"], "add")], [w, b])
    col = '{"name":"%s","role":"numeric","fill":0,"indicator":false}'
    enc = ('{"version":1,"missing":"error","impute":"mean","task":"classification","header":true,'
           '"columns":[%s,%s,%s,{"name":"label","role":"target"}],"targets":[3],'
           '"labels":["small","big"]}' % (col % "a", col % "b", col % "c"))
    save("refused_encoder_labels", [("MatMul", ["x", "w"], ["h"], "mm"), ("Add", ["h", "b"], ["z"], "add"),
                                    ("Softmax", ["z"], ["y"], "soft")], [w, b],
         [("labels", '["big","small"]'), ("encoder", enc)])


if __name__ == "__main__":
    main()
