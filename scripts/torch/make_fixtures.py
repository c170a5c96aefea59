"""Writes the PyTorch cross-check fixtures under Tests/RobustCoreTests/Fixtures.

    pip install torch safetensors && python3 scripts/torch/make_fixtures.py

resnet18_w4.safetensors      a width-4 ResNet-18's initial state_dict (PyTorch names)
resnet18_w4_io.safetensors   inputs and PyTorch's results for them:
    input [N,3,32,32], labels [N] (I64)
    logits_eval                 eval-mode logits (running statistics)
    logits_train, loss          train-mode logits and cross-entropy (label smoothing 0.1)
    grad.<param>                parameter gradients of that loss
    running.<bn>.running_mean/var   BN running statistics after the train-mode forward
    step.<param>                parameters after one SGD step (lr 0.1, momentum 0.9, wd 5e-4, nesterov)
The running statistics are first perturbed so eval mode differs from train mode.
"""
import os
import sys

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(__file__))
from resnet_ref import ResNet18  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "Tests", "RobustCoreTests", "Fixtures")


def main():
    torch.manual_seed(0)
    torch.use_deterministic_algorithms(True)
    model = ResNet18(width=4).double()  # float64 reference; robust computes in float32
    with torch.no_grad():
        for name, buf in model.named_buffers():
            if name.endswith("running_mean"):
                buf.copy_(torch.randn_like(buf) * 0.1)
            elif name.endswith("running_var"):
                buf.copy_(torch.rand_like(buf) + 0.5)
        for name, p in model.named_parameters():
            if "bn" in name or "shortcut.1" in name:
                p.add_(torch.randn_like(p) * 0.1)
    state = {k: v.float().contiguous() if v.is_floating_point() else v.contiguous() for k, v in model.state_dict().items()}
    os.makedirs(OUT, exist_ok=True)
    save_file(state, os.path.join(OUT, "resnet18_w4.safetensors"))
    model = ResNet18(width=4).double()
    model.load_state_dict({k: v.double() if v.is_floating_point() else v for k, v in state.items()})

    n = 6
    x = torch.randn(n, 3, 32, 32, dtype=torch.float64)
    y = torch.tensor([0, 3, 9, 1, 3, 7])
    out = {"input": x.float(), "labels": y}
    model.eval()
    with torch.no_grad():
        out["logits_eval"] = model(x).float()
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4, nesterov=True)
    logits = model(x)
    loss = F.cross_entropy(logits, y, label_smoothing=0.1)
    loss.backward()
    out["logits_train"] = logits.detach().float()
    out["loss"] = loss.detach().float().reshape(1)
    for name, p in model.named_parameters():
        out["grad." + name] = p.grad.float()
    for name, b in model.named_buffers():
        if "running" in name:
            out["running." + name] = b.float()
    opt.step()
    for name, p in model.named_parameters():
        out["step." + name] = p.detach().float()
    save_file({k: v.contiguous() for k, v in out.items()}, os.path.join(OUT, "resnet18_w4_io.safetensors"))
    print("wrote fixtures to", os.path.abspath(OUT))


if __name__ == "__main__":
    main()
