"""Source of the small models the CLI tests write as a user's own file (``write_module``)."""

#: A CNN for 1x8x8 digits: fed flat samples without ``--input-shape``, its first layer refuses them.
CNN = """
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3)
        self.fc = nn.Linear(4 * 6 * 6, 10)

    def forward(self, x):
        return self.fc(self.conv(x).relu().flatten(1))
"""
