"""The PyTorch twin of crates/flowscope-control (f64): the multi-pole cart-pole of StableBPTT,
the tanh MLP controller and the gradient modes, written as the reference writes them (a rollout
with `detach()` where TensorFlow's `stop_gradient` stands), differentiated by autograd. It
writes the fixture the Rust gradients are held to:

    training/run bptt_twin.py

tests/fixtures/control/bptt-gradients.safetensors holds, for the cart-pole with P poles in
1 and 3:
`pP.starts` [B, 2 + 2P], the controller `pP.params` (flat: each layer's weight [out, in]
row-major, then its bias), `pP.loss`, the batch gradients `pP.grad.F|P|S|C`, and the parameters
after three Adam updates (lr 1e-2) in mode C clipped by norm 1 (`pP.after.C.norm`) and in mode F
clipped by value 1 (`pP.after.F.value`); and for guidance by repulsion (2 drivers, 4 evaders,
regularisation 0.1, a 16-16 controller) `g.starts`, `g.params`, `g.loss`, `g.grad.F|P|S|C`;
and for quantum control (32 points, Crank–Nicolson as the reference builds it: dense U₁, U₂ and
`torch.linalg.solve`, 128 steps, target eigenstate 3, the reference's CNN with 8 channels)
`q.starts`, `q.params` (flat in the Rust layout: conv0 [8, 3, 2], conv1 [8, 3, 8] as output,
position, input channel, dense [1, 56] position-major, biases after each), `q.loss`,
`q.grad.F|P|S|C`.
"""

import os

import torch
from safetensors.torch import save_file

G, POLE_MASS, TOTAL_MASS, HALF_LENGTH = 9.8, 0.1, 1.1, 0.5
DT, STEPS = 0.01, 100
FIXTURE = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "control",
                       "bptt-gradients.safetensors")


def cartpole_step(state, force):
    """state [B, 2 + 2P] as [x, x', th1, th1', ...], force [B]."""
    ml = POLE_MASS * HALF_LENGTH
    x, xd = state[:, 0], state[:, 1]
    th, thd = state[:, 2::2], state[:, 3::2]
    f = force[:, None]
    sin, cos = torch.sin(th), torch.cos(th)
    sintd2 = sin * thd**2
    a = (f + ml * sintd2) / TOTAL_MASS
    b = HALF_LENGTH * (4.0 / 3.0 - POLE_MASS * cos**2 / TOTAL_MASS)
    thdd = (G * sin - cos * a) / b
    c = torch.sum(sintd2 - thdd * cos, dim=1)
    xdd = (force + ml * c) / TOTAL_MASS
    thd_new = thd + DT * thdd
    th_new = th + DT * thd_new
    xd_new = xd + DT * xdd
    x_new = x + DT * xd_new
    poles = torch.stack([th_new, thd_new], dim=2).reshape(state.shape[0], -1)
    return torch.cat([x_new[:, None], xd_new[:, None], poles], dim=1)


def loss_fn(state):
    return 1.0 - torch.mean(torch.cos(state[:, 2::2]))


class Guidance:
    """GuidanceByRepulsion/Simulations/01/simulator.py, term by term (the same loops over
    objects, the 'centre' a sum, the flocking sign), on states [B, objects * 4] laid out
    [x, y, vx, vy] per object, drivers first; loss CONTINUOUS plus the control regularisation."""

    EPS, EVADE, FRIC_EV, FLOCK, D_FLOCK, FRIC_DR, SPREAD = 0.1, 15.0, 4.0, 0.2, 0.5, 1.0, 0.2
    DT, STEPS = 4.0 / 60.0, 60

    def __init__(self, drivers, evaders, regularisation):
        self.nd, self.ne, self.rc = drivers, evaders, regularisation

    def dist(self, r):
        return self.EPS + torch.sum(r**2, -1) ** 0.5

    def step(self, state, c):
        u = state.reshape(state.shape[0], self.nd + self.ne, 2, 2)
        x, v = u[:, :, 0], u[:, :, 1]
        xd, xe = x[:, :self.nd], x[:, self.nd:]
        vd, ve = v[:, :self.nd], v[:, self.nd:]
        c = c.reshape(-1, self.nd, 2)
        centre_vec = xd - torch.sum(xe, dim=1, keepdim=True)
        orthog = torch.stack([-centre_vec[..., 1], centre_vec[..., 0]], -1)
        f_con = c[..., :1] * centre_vec + c[..., 1:] * orthog
        f_ev = 0
        for i in range(self.nd):
            rel = xd[:, i:i + 1] - xe
            f_ev = f_ev + (-1.0 * self.dist(rel) ** -2)[..., None] * rel
        f_flock = 0
        for i in range(self.ne):
            others = torch.cat([xe[:, :i], xe[:, i + 1:]], 1)
            rel = xe[:, i:i + 1] - others
            d = self.dist(rel)
            f = ((self.D_FLOCK / d - 1) / d)[..., None] * rel
            f_flock = f_flock + torch.cat([f[:, :i], torch.zeros_like(f[:, :1]), f[:, i:]], 1)
        f_spread = 0
        for i in range(self.nd):
            others = torch.cat([xd[:, :i], xd[:, i + 1:]], 1)
            rel = others - xd[:, i:i + 1]
            f = (self.dist(rel) ** -2)[..., None] * rel
            f_spread = f_spread + torch.cat([f[:, :i], torch.zeros_like(f[:, :1]), f[:, i:]], 1)
        ad = f_con - self.FRIC_DR * vd + self.SPREAD * f_spread
        ae = self.EVADE * f_ev - self.FRIC_EV * ve + self.FLOCK * f_flock
        x_dot = torch.cat([vd, ve], 1)
        v_dot = torch.cat([ad, ae], 1)
        new = u + torch.stack([x_dot, v_dot], 2) * self.DT
        return new.reshape(state.shape)

    def loss(self, states, forces):
        objects = torch.stack(states[1:], 1).reshape(states[0].shape[0], len(states) - 1, self.nd + self.ne, 2, 2)
        physics = torch.mean(objects[:, :, self.nd:, 0, :] ** 2)
        return physics + self.rc * torch.mean(torch.stack(forces, 1) ** 2)


class Quantum:
    """StableBPTT's QuantumControl solver (qmc_solver.py), batched, in complex128."""
    NX, DT, STEPS, XMAX = 32, 0.0625, 128, 2.0

    def __init__(self, target):
        self.dx = self.XMAX / (self.NX + 1)
        self.x = torch.arange(1, self.NX + 1, dtype=torch.float64) * self.dx
        self.target = self.eigenstate(target)

    def eigenstate(self, n):
        wave = torch.sin(torch.pi * n / (self.NX + 1) * torch.arange(self.NX + 2, dtype=torch.float64))
        return (wave / wave.norm())[1:-1]

    def step(self, state, control):
        psi = torch.complex(state[..., 0], state[..., 1])
        dt, dx = self.DT, self.dx
        pot = 0.5j * dt * control.reshape(-1, 1) * self.x
        alpha = 1j * 0.5 * dt / dx / dx
        gamma, eta = 1 - 1j * dt / dx / dx, 1 + 1j * dt / dx / dx
        off = torch.diag(torch.full((self.NX - 1,), 1.0, dtype=torch.complex128), 1)
        off = off + off.T
        u2 = torch.diag_embed(gamma - pot) + alpha * off
        u1 = torch.diag_embed(eta + pot) - alpha * off
        phi = torch.linalg.solve(u1, (u2 @ psi.unsqueeze(-1)))[..., 0]
        return torch.stack([phi.real, phi.imag], -1)

    def loss(self, states):
        xs = torch.stack(states[1:], 1)
        overlap = (self.target * torch.complex(xs[..., 0], xs[..., 1])).sum(-1)
        return (1 - overlap.abs() ** 2).sum(-1).mean()


class QuantumCnn(torch.nn.Module):
    """The reference's get_cnn: Conv2D(w, (3, 2), 2) over (points, Re/Im), Conv1D(w, 3, 2),
    flattened position-major as Keras does, Dense(1)."""

    def __init__(self, width):
        super().__init__()
        self.conv0 = torch.nn.Conv2d(1, width, (3, 2), 2, dtype=torch.float64)
        self.conv1 = torch.nn.Conv1d(width, width, 3, 2, dtype=torch.float64)
        self.dense = torch.nn.Linear(7 * width, 1, dtype=torch.float64)

    def forward(self, state):
        h = torch.tanh(self.conv0(state.unsqueeze(1)))[..., 0]
        h = torch.tanh(self.conv1(h))
        return self.dense(h.transpose(1, 2).reshape(state.shape[0], -1))

    def parameters_in_rust_order(self):
        return [self.conv0.weight[:, 0], self.conv0.bias, self.conv1.weight.permute(0, 2, 1),
                self.conv1.bias, self.dense.weight, self.dense.bias]


def quantum_gradient(net, system, starts, mode):
    params = list(net.parameters())
    if mode == "C":
        p, f = quantum_gradient(net, system, starts, "P")[1], quantum_gradient(net, system, starts, "F")[1]
        return None, torch.where(torch.sign(p) == torch.sign(f), p, torch.zeros_like(p))
    state, states = starts, [starts]
    for _ in range(system.STEPS):
        c = net(state if mode == "F" else state.detach())
        state = system.step(state.detach() if mode == "S" else state, c)
        states.append(state)
    loss = system.loss(states)
    grads = torch.autograd.grad(loss, params)
    by_name = dict(zip([n for n, _ in net.named_parameters()], grads))
    rust = [by_name["conv0.weight"][:, 0], by_name["conv0.bias"], by_name["conv1.weight"].permute(0, 2, 1),
            by_name["conv1.bias"], by_name["dense.weight"], by_name["dense.bias"]]
    return loss.detach(), flat(rust)


def controller(layers, seen):
    h = seen
    for k, layer in enumerate(layers):
        h = layer(h)
        if k < len(layers) - 1:
            h = torch.tanh(h)
    return h


def rollout_loss(layers, starts, mode, system=None):
    state = starts
    states, forces = [starts], []
    for _ in range(system.STEPS if system else STEPS):
        seen = state if mode == "F" else state.detach()
        physics = state.detach() if mode == "S" else state
        h = controller(layers, seen)
        state = system.step(physics, h) if system else cartpole_step(physics, h[:, 0])
        states.append(state)
        forces.append(h)
    return system.loss(states, forces) if system else loss_fn(state)


def flat(tensors):
    return torch.cat([t.reshape(-1) for t in tensors])


def gradient(layers, starts, mode, system=None):
    params = [p for layer in layers for p in (layer.weight, layer.bias)]
    if mode == "C":
        p, f = gradient(layers, starts, "P", system)[1], gradient(layers, starts, "F", system)[1]
        return None, torch.where(torch.sign(p) == torch.sign(f), p, torch.zeros_like(p))
    loss = rollout_loss(layers, starts, mode, system)
    grads = torch.autograd.grad(loss, params)
    return loss.detach(), flat(grads)


def train(layers, starts, mode, clip, updates=3):
    params = [p for layer in layers for p in (layer.weight, layer.bias)]
    opt = torch.optim.Adam(params, lr=1e-2)
    for _ in range(updates):
        g = gradient(layers, starts, mode)[1]
        if clip == "value":
            g = g.clamp(-1.0, 1.0)
        elif clip == "norm":
            g = g * min(1.0, 1.0 / float(g.norm()))
        offset = 0
        for p in params:
            p.grad = g[offset:offset + p.numel()].reshape(p.shape).clone()
            offset += p.numel()
        opt.step()
    return flat([p.detach() for p in params])


def main():
    torch.manual_seed(0)
    out = {}
    for poles in (1, 3):
        state_len = 2 + 2 * poles
        widths = [state_len, 16, 16, 1]
        make = lambda: [torch.nn.Linear(a, b, dtype=torch.float64) for a, b in zip(widths, widths[1:])]
        layers = make()
        starts = torch.rand(4, state_len, dtype=torch.float64) * 2 - 1
        starts[:, 2::2] = torch.pi + starts[:, 2::2] * torch.pi / 6
        key = f"p{poles}"
        out[f"{key}.starts"] = starts
        out[f"{key}.params"] = flat([p.detach() for l in layers for p in (l.weight, l.bias)])
        for mode in "FPSC":
            loss, g = gradient(layers, starts, mode)
            out[f"{key}.grad.{mode}"] = g
            if loss is not None:
                out[f"{key}.loss"] = loss.reshape(1)
        for mode, clip in (("C", "norm"), ("F", "value")):
            copy = make()
            for c, l in zip(copy, layers):
                c.load_state_dict(l.state_dict())
            out[f"{key}.after.{mode}.{clip}"] = train(copy, starts, mode, clip)
    # Guidance: 2 drivers, 4 evaders, regularisation 0.1.
    system = Guidance(2, 4, 0.1)
    widths = [24, 16, 16, 4]
    layers = [torch.nn.Linear(a, b, dtype=torch.float64) for a, b in zip(widths, widths[1:])]
    starts = torch.zeros(4, 6, 2, 2, dtype=torch.float64)
    phi, r = torch.rand(4, 2, dtype=torch.float64) * 2 * torch.pi, 3 + torch.rand(4, 2, dtype=torch.float64)
    starts[:, :2, 0] = torch.stack([r * torch.cos(phi), r * torch.sin(phi)], -1)
    phi, r = torch.rand(4, 1, dtype=torch.float64) * 2 * torch.pi, 1 + torch.rand(4, 1, dtype=torch.float64)
    starts[:, 2:, 0] = torch.stack([r * torch.cos(phi), r * torch.sin(phi)], -1) + torch.rand(4, 4, 2, dtype=torch.float64) - 0.5
    starts = starts.reshape(4, 24)
    out["g.starts"] = starts
    out["g.params"] = flat([p.detach() for l in layers for p in (l.weight, l.bias)])
    for mode in "FPSC":
        loss, g = gradient(layers, starts, mode, system)
        out[f"g.grad.{mode}"] = g
        if loss is not None:
            out["g.loss"] = loss.reshape(1)
    # Quantum control: target eigenstate 3, starts mixing the two lowest states.
    system = Quantum(3)
    net = QuantumCnn(8)
    e1, e2 = system.eigenstate(1), system.eigenstate(2)
    c = torch.randn(3, 2, dtype=torch.float64)
    phase = torch.rand(3, 2, dtype=torch.float64) * 2 * torch.pi
    f = c / c.norm(dim=1, keepdim=True) * torch.exp(1j * phase)
    psi = f[:, :1] * e1 + f[:, 1:] * e2
    starts = torch.stack([psi.real, psi.imag], -1)
    out["q.starts"] = starts.reshape(3, -1)
    out["q.params"] = flat([p.detach() for p in net.parameters_in_rust_order()])
    for mode in "FPSC":
        loss, g = quantum_gradient(net, system, starts, mode)
        out[f"q.grad.{mode}"] = g
        if loss is not None:
            out["q.loss"] = loss.reshape(1)
    save_file({k: v.contiguous() for k, v in out.items()}, FIXTURE)
    print(f"wrote {FIXTURE}: " + ", ".join(f"{k} {list(v.shape)}" for k, v in out.items()))


if __name__ == "__main__":
    main()
