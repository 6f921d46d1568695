"""facenet_ref.py - the project's own PyTorch reference of FaceNet's Inception-ResNet-v1
(spec/facenet.md section 1), written from the spec, with the same state_dict keys as
facenet-pytorch's InceptionResnetV1 (without the `logits` head).

    net = FaceNetRef(div=1)            # div divides every channel width (golden tests use 8)
    emb, acts = net.forward_trace(x)   # x (N,3,160,160) standardised; acts: [(name, tensor)]

`acts` holds the output of every traced block, named like the C engine's hook:
conv2d_1a, conv2d_2a, conv2d_2b, maxpool_3a, conv2d_3b, conv2d_4a, conv2d_4b, repeat_1.0..4,
mixed_6a, repeat_2.0..9, mixed_7a, repeat_3.0..4, block8, avgpool_1a, last_linear (after
last_bn), embedding.

`randomize(net, seed)` fills the weights with seeded random values and NON-trivial batch-norm
statistics (gamma != 1, beta != 0, running mean/var away from 0/1) so that a BN-folding bug
cannot hide. Needs torch and numpy.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

BN_EPS = 0.001
SCALES = (0.17, 0.10, 0.20, 1.0)  # repeat_1, repeat_2, repeat_3, block8
REPEATS = (5, 10, 5)


class BC(nn.Module):
    """Conv2d (no bias) -> BatchNorm2d(eps=0.001) -> ReLU  (facenet-pytorch BasicConv2d)."""

    def __init__(self, cin, cout, k, s=1, p=0):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride=s, padding=p, bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=BN_EPS)
        self.relu = nn.ReLU(inplace=False)

    def forward(self, x):
        return self.relu(self.bn(self.conv(x)))


class Block35(nn.Module):
    def __init__(self, c, w, scale):
        super().__init__()
        self.scale = scale
        self.branch0 = BC(c, w(32), 1)
        self.branch1 = nn.Sequential(BC(c, w(32), 1), BC(w(32), w(32), 3, 1, 1))
        self.branch2 = nn.Sequential(BC(c, w(32), 1), BC(w(32), w(32), 3, 1, 1), BC(w(32), w(32), 3, 1, 1))
        self.conv2d = nn.Conv2d(3 * w(32), c, 1)

    def forward(self, x):
        cat = torch.cat([self.branch0(x), self.branch1(x), self.branch2(x)], 1)
        return F.relu(x + self.scale * self.conv2d(cat))


class Block17(nn.Module):
    def __init__(self, c, w, scale):
        super().__init__()
        self.scale = scale
        self.branch0 = BC(c, w(128), 1)
        self.branch1 = nn.Sequential(BC(c, w(128), 1), BC(w(128), w(128), (1, 7), 1, (0, 3)),
                                     BC(w(128), w(128), (7, 1), 1, (3, 0)))
        self.conv2d = nn.Conv2d(2 * w(128), c, 1)

    def forward(self, x):
        cat = torch.cat([self.branch0(x), self.branch1(x)], 1)
        return F.relu(x + self.scale * self.conv2d(cat))


class Block8(nn.Module):
    def __init__(self, c, w, scale, relu=True):
        super().__init__()
        self.scale = scale
        self.use_relu = relu
        self.branch0 = BC(c, w(192), 1)
        self.branch1 = nn.Sequential(BC(c, w(192), 1), BC(w(192), w(192), (1, 3), 1, (0, 1)),
                                     BC(w(192), w(192), (3, 1), 1, (1, 0)))
        self.conv2d = nn.Conv2d(2 * w(192), c, 1)

    def forward(self, x):
        cat = torch.cat([self.branch0(x), self.branch1(x)], 1)
        y = x + self.scale * self.conv2d(cat)
        return F.relu(y) if self.use_relu else y


class Mixed6a(nn.Module):
    def __init__(self, w):
        super().__init__()
        self.branch0 = BC(w(256), w(384), 3, 2)
        self.branch1 = nn.Sequential(BC(w(256), w(192), 1), BC(w(192), w(192), 3, 1, 1), BC(w(192), w(256), 3, 2))
        self.branch2 = nn.MaxPool2d(3, stride=2)

    def forward(self, x):
        return torch.cat([self.branch0(x), self.branch1(x), self.branch2(x)], 1)


class Mixed7a(nn.Module):
    def __init__(self, w):
        super().__init__()
        self.branch0 = nn.Sequential(BC(w(896), w(256), 1), BC(w(256), w(384), 3, 2))
        self.branch1 = nn.Sequential(BC(w(896), w(256), 1), BC(w(256), w(256), 3, 2))
        self.branch2 = nn.Sequential(BC(w(896), w(256), 1), BC(w(256), w(256), 3, 1, 1), BC(w(256), w(256), 3, 2))
        self.branch3 = nn.MaxPool2d(3, stride=2)

    def forward(self, x):
        return torch.cat([self.branch0(x), self.branch1(x), self.branch2(x), self.branch3(x)], 1)


class FaceNetRef(nn.Module):
    def __init__(self, div=1):
        super().__init__()

        def w(c):
            assert c % div == 0
            return c // div

        self.div = div
        self.conv2d_1a = BC(3, w(32), 3, 2)
        self.conv2d_2a = BC(w(32), w(32), 3, 1)
        self.conv2d_2b = BC(w(32), w(64), 3, 1, 1)
        self.maxpool_3a = nn.MaxPool2d(3, stride=2)
        self.conv2d_3b = BC(w(64), w(80), 1)
        self.conv2d_4a = BC(w(80), w(192), 3, 1)
        self.conv2d_4b = BC(w(192), w(256), 3, 2)
        self.repeat_1 = nn.Sequential(*[Block35(w(256), w, SCALES[0]) for _ in range(REPEATS[0])])
        self.mixed_6a = Mixed6a(w)
        self.repeat_2 = nn.Sequential(*[Block17(w(896), w, SCALES[1]) for _ in range(REPEATS[1])])
        self.mixed_7a = Mixed7a(w)
        self.repeat_3 = nn.Sequential(*[Block8(w(1792), w, SCALES[2]) for _ in range(REPEATS[2])])
        self.block8 = Block8(w(1792), w, SCALES[3], relu=False)
        self.avgpool_1a = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(0.6)
        self.last_linear = nn.Linear(w(1792), w(512), bias=False)
        self.last_bn = nn.BatchNorm1d(w(512), eps=BN_EPS)

    def forward_trace(self, x):
        acts = []
        for name in ("conv2d_1a", "conv2d_2a", "conv2d_2b", "maxpool_3a", "conv2d_3b", "conv2d_4a", "conv2d_4b"):
            x = getattr(self, name)(x)
            acts.append((name, x))
        for stage in ("repeat_1", "mixed_6a", "repeat_2", "mixed_7a", "repeat_3"):
            mod = getattr(self, stage)
            if isinstance(mod, nn.Sequential):
                for i, blk in enumerate(mod):
                    x = blk(x)
                    acts.append((f"{stage}.{i}", x))
            else:
                x = mod(x)
                acts.append((stage, x))
        x = self.block8(x)
        acts.append(("block8", x))
        x = self.avgpool_1a(x)
        acts.append(("avgpool_1a", x))
        x = self.dropout(x.flatten(1))
        x = self.last_bn(self.last_linear(x))
        acts.append(("last_linear", x))
        x = F.normalize(x, p=2, dim=1)  # x / max(||x||, 1e-12)
        acts.append(("embedding", x))
        return x, acts

    def forward(self, x):
        return self.forward_trace(x)[0]


def randomize(net, seed):
    """Seeded random weights (He-style scale so activations stay O(1) through 22 blocks) and
    non-trivial batch-norm statistics."""
    g = torch.Generator().manual_seed(seed)

    def rnd(shape, scale, offset=0.0):
        return torch.randn(shape, generator=g, dtype=torch.float32) * scale + offset

    with torch.no_grad():
        for name, m in net.named_modules():
            if isinstance(m, nn.Conv2d):
                fan_in = m.weight[0].numel()
                m.weight.copy_(rnd(m.weight.shape, math.sqrt(2.0 / fan_in)))
                if m.bias is not None:
                    m.bias.copy_(rnd(m.bias.shape, 0.1))
            elif isinstance(m, nn.Linear):
                m.weight.copy_(rnd(m.weight.shape, math.sqrt(1.0 / m.weight.shape[1])))
            elif isinstance(m, (nn.BatchNorm2d, nn.BatchNorm1d)):
                c = m.weight.shape[0]
                m.weight.copy_(torch.rand(c, generator=g) * 1.0 + 0.5)        # gamma in [0.5, 1.5)
                m.bias.copy_(rnd((c,), 0.2))                                  # beta
                m.running_mean.copy_(rnd((c,), 0.3))                          # mean
                m.running_var.copy_(torch.rand(c, generator=g) * 1.5 + 0.25)  # var in [0.25, 1.75)
                m.num_batches_tracked.fill_(1000)
    net.eval()
    return net
