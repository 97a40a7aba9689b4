"""Exports a training checkpoint (its model, config and extra) as a Flowscope safetensors file,
e.g. to try a run before it ends:

    training/run export_checkpoint.py ../target/training/smdp-heat/checkpoint.pt /tmp/models/smdp-heat.safetensors
"""

import sys

import torch

import flowscope_nn

if len(sys.argv) != 3:
    raise SystemExit(__doc__)
state = torch.load(sys.argv[1])
model = flowscope_nn.build(state["config"])
model.load_state_dict(state["model"])
flowscope_nn.export(model, state["config"], sys.argv[2], torch.float32, state["extra"])
print(f"wrote {sys.argv[2]} (step {state['step']})")
