"""demo_facenet_model.py - Inception-ResNet-v1 (spec facenet.md section 1) with every channel width divided by
`div`, written so that its state_dict has exactly facenet-pytorch's key names (conv2d_1a.conv.weight,
repeat_1.3.branch2.1.bn.running_mean, mixed_7a.branch0.1.conv.weight, block8.conv2d.bias, last_linear.weight,
last_bn.*, ...). div = 1 is the full-size network. The embedding size (512) is not divided.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


class BasicConv2d(nn.Module):
    def __init__(self, cin, cout, k, stride=1, padding=0):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride=stride, padding=padding, bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=0.001, momentum=0.1)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


class Block35(nn.Module):
    def __init__(self, c, b, scale):
        super().__init__()
        self.scale = scale
        self.branch0 = BasicConv2d(c, b, 1)
        self.branch1 = nn.Sequential(BasicConv2d(c, b, 1), BasicConv2d(b, b, 3, padding=1))
        self.branch2 = nn.Sequential(BasicConv2d(c, b, 1), BasicConv2d(b, b, 3, padding=1),
                                     BasicConv2d(b, b, 3, padding=1))
        self.conv2d = nn.Conv2d(3 * b, c, 1)

    def forward(self, x):
        y = torch.cat([self.branch0(x), self.branch1(x), self.branch2(x)], 1)
        return F.relu(x + self.scale * self.conv2d(y))


class Block17(nn.Module):
    def __init__(self, c, b, scale):
        super().__init__()
        self.scale = scale
        self.branch0 = BasicConv2d(c, b, 1)
        self.branch1 = nn.Sequential(BasicConv2d(c, b, 1), BasicConv2d(b, b, (1, 7), padding=(0, 3)),
                                     BasicConv2d(b, b, (7, 1), padding=(3, 0)))
        self.conv2d = nn.Conv2d(2 * b, c, 1)

    def forward(self, x):
        y = torch.cat([self.branch0(x), self.branch1(x)], 1)
        return F.relu(x + self.scale * self.conv2d(y))


class Block8(nn.Module):
    def __init__(self, c, b, scale, no_relu=False):
        super().__init__()
        self.scale, self.no_relu = scale, no_relu
        self.branch0 = BasicConv2d(c, b, 1)
        self.branch1 = nn.Sequential(BasicConv2d(c, b, 1), BasicConv2d(b, b, (1, 3), padding=(0, 1)),
                                     BasicConv2d(b, b, (3, 1), padding=(1, 0)))
        self.conv2d = nn.Conv2d(2 * b, c, 1)

    def forward(self, x):
        y = x + self.scale * self.conv2d(torch.cat([self.branch0(x), self.branch1(x)], 1))
        return y if self.no_relu else F.relu(y)


class Mixed6a(nn.Module):
    def __init__(self, cin, b0, b1a, b1b):
        super().__init__()
        self.branch0 = BasicConv2d(cin, b0, 3, stride=2)
        self.branch1 = nn.Sequential(BasicConv2d(cin, b1a, 1), BasicConv2d(b1a, b1a, 3, padding=1),
                                     BasicConv2d(b1a, b1b, 3, stride=2))
        self.branch2 = nn.MaxPool2d(3, stride=2)

    def forward(self, x):
        return torch.cat([self.branch0(x), self.branch1(x), self.branch2(x)], 1)


class Mixed7a(nn.Module):
    def __init__(self, cin, m, o0, o1):
        super().__init__()
        self.branch0 = nn.Sequential(BasicConv2d(cin, m, 1), BasicConv2d(m, o0, 3, stride=2))
        self.branch1 = nn.Sequential(BasicConv2d(cin, m, 1), BasicConv2d(m, o1, 3, stride=2))
        self.branch2 = nn.Sequential(BasicConv2d(cin, m, 1), BasicConv2d(m, m, 3, padding=1),
                                     BasicConv2d(m, o1, 3, stride=2))
        self.branch3 = nn.MaxPool2d(3, stride=2)

    def forward(self, x):
        return torch.cat([self.branch0(x), self.branch1(x), self.branch2(x), self.branch3(x)], 1)


class InceptionResnetV1(nn.Module):
    def __init__(self, div=8, embed=512, num_classes=0):
        super().__init__()
        d = lambda c: max(1, c // div)  # noqa: E731
        self.div = div
        c35, c17, c8 = d(256), d(384) + d(256) + d(256), 0
        c8 = d(384) + d(256) + d(256) + c17
        self.widths = {"block35": c35, "block17": c17, "block8": c8}
        self.conv2d_1a = BasicConv2d(3, d(32), 3, stride=2)
        self.conv2d_2a = BasicConv2d(d(32), d(32), 3)
        self.conv2d_2b = BasicConv2d(d(32), d(64), 3, padding=1)
        self.maxpool_3a = nn.MaxPool2d(3, stride=2)
        self.conv2d_3b = BasicConv2d(d(64), d(80), 1)
        self.conv2d_4a = BasicConv2d(d(80), d(192), 3)
        self.conv2d_4b = BasicConv2d(d(192), c35, 3, stride=2)
        self.repeat_1 = nn.Sequential(*[Block35(c35, d(32), 0.17) for _ in range(5)])
        self.mixed_6a = Mixed6a(c35, d(384), d(192), d(256))
        self.repeat_2 = nn.Sequential(*[Block17(c17, d(128), 0.10) for _ in range(10)])
        self.mixed_7a = Mixed7a(c17, d(256), d(384), d(256))
        self.repeat_3 = nn.Sequential(*[Block8(c8, d(192), 0.20) for _ in range(5)])
        self.block8 = Block8(c8, d(192), 1.0, no_relu=True)
        self.avgpool_1a = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(0.6)
        self.last_linear = nn.Linear(c8, embed, bias=False)
        self.last_bn = nn.BatchNorm1d(embed, eps=0.001, momentum=0.1)

    def features(self, x):
        """Returns the last_bn output (before the L2 normalisation)."""
        for m in (self.conv2d_1a, self.conv2d_2a, self.conv2d_2b, self.maxpool_3a, self.conv2d_3b, self.conv2d_4a,
                  self.conv2d_4b, self.repeat_1, self.mixed_6a, self.repeat_2, self.mixed_7a, self.repeat_3,
                  self.block8):
            x = m(x)
        x = self.dropout(self.avgpool_1a(x).flatten(1))
        return self.last_bn(self.last_linear(x))

    def forward(self, x):
        return F.normalize(self.features(x), p=2, dim=1)
