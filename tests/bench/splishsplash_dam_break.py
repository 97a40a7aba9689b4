"""SPlisHSPlasH (pysplishsplash) on the 2D dam break of Flowscope's `dam-break` case, validated
before it is timed: the anchor of `cargo xtask bench sph`.

usage: splishsplash_dam_break.py <wcsph|dfsph> <n> --until T[,T2,…] [--sampling regular|dense]

A water column a wide and 2a tall at the left of a tank 6a wide and 3a tall (Martin & Moyce's
dam break), n particles across the column (spacing a/n, about 2n² fluid particles; the dense
sampling holds as many), run to the scaled time T = t √(2g/a). Prints one JSON line
(contract; with several increasing times, one line as each is reached, the last one last):

  {"method", "sampling", "particles", "steps", "wall_s", "simulated_time", "T", "front",
   "max_speed", "outside", "valid", "why"}

`wall_s` is the stepping only (scene set-up and the validity samples excluded; the first step,
where SPlisHSPlasH builds the walls' volume map, is counted at the other steps' mean); `front`
is the largest fluid x over a at the end; `max_speed` the largest fluid speed seen (sampled every
T/40 and at the end); `outside` the fluid particles outside the tank at the end. `valid` holds
when no particle left the tank, the largest speed stayed below 3 √(2g·2a) (a free fall over the
column's height reaches √(2g·2a)) and the front is within 10 % of Martin & Moyce's at the T
reached (interpolated; the gate Flowscope's own solvers meet in the test suite); `why` says
which check failed.

The set-up, as SPlisHSPlasH's users set up such a scene (its own 2D dam break example,
data/Scenes/DamBreakModel_2D.json, is this problem at about this scale):
- a = 1 m: at Martin & Moyce's 2.25 in (Flowscope's case) the walls' volume maps let WCSPH
  particles reach 12 m/s and DFSPH explode; the series is dimensionless, so T, front / a and the
  number of steps to a given T carry over;
- walls as the example's volume maps (Bender et al. 2019, boundaryHandlingMethod 2), on a grid
  whose cells are 4/3 of the kernel's support as in the example (a fixed [60, 30, 20] made them
  12 supports wide at 224 across);
- the column sampled as SPlisHSPlasH's fluid blocks offer: `regular` (a square lattice) or
  `dense` (its close packing, denseMode 2), dense by default for both methods. A particle
  carries 0.8 (2r)² of volume in 2D (FluidModel.cpp; its open issue #242), which the square
  lattice's (2r)² cells dilute: its DFSPH front then leads Martin & Moyce by 18 % at T = 2, and
  its WCSPH at 71 across throws particles out of the tank at 6·10³ m/s within the first steps.
  Dense-sampled, both pass the front gate (DFSPH +7 % at T = 2, WCSPH +4 %). Dense particles are
  made smaller, so that the column holds about as many as the square lattice's 2n²;
- WCSPH's stiffness set for a speed of sound of 10 √(2g·2a), the usual weakly compressible choice
  (Flowscope's WCSPH uses the same c0), exponent 7, both in the "WCSPH" block of the scene's
  Configuration (2.19's scene format namespaces each solver's parameters: set in the material, as
  an earlier version of this script did, they were ignored, its default stiffness 50 gave a speed
  of sound of 0.6 m/s and a front 21–25 % behind Martin & Moyce); its time step bounded by the
  acoustic CFL 0.4 h/c (SPlisHSPlasH's CFL rule only looks at particle speeds, and its default
  step bounds, 1e-4 to 5e-3 s, were far above this limit in the scene that made the old benchmark
  rows: it exploded);
- DFSPH with the example's settings (0.1 % density error, divergence solver on, CFL factor 1 on
  particle speeds);
- standard viscosity at Flowscope's Reynolds number (its 3e-4 m²/s at 2.25 in is 0.022 m²/s at
  1 m). It is explicit: both methods' steps are bounded by its limit h²/(12ν) (h half the
  kernel's support, the spacing 2r; Flowscope's DFSPH keeps the same), which binds DFSPH from
  about 100 across. At 224 across, DFSPH at the example's 5e-3 s bound shot particles out at
  18 m/s and led Martin & Moyce by 37 %; at Morris et al.'s 0.125 h²/ν (1997) a particle inside
  the slumping column still reached 10 m/s at T = 0.6 and the front led by 13 % at T = 2;
- the first step at that bound too: SPlisHSPlasH takes it at `timeStepSize` (1e-3 s by default)
  before its CFL rule has looked at the particles, 37 acoustic steps at 224 across, where WCSPH
  blew up in it;
- OpenMP on all cores.

The wheel's bundled libGLdispatch clashes with the system's libGLX: run with
LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libGLdispatch.so.0 (cargo xtask does).
"""

import argparse
import json
import math
import os
import sys
import tempfile
import time

import pysplishsplash as sph

# The column width: the dam break at 1 m, the scale of SPlisHSPlasH's own 2D example (at Martin &
# Moyce's 2.25 in its walls' volume maps let WCSPH reach 12 m/s and DFSPH explode). The series is
# dimensionless: T, front / a and the step counts carry over to Flowscope's 2.25 in case.
A = 1.0
# Flowscope's dam break: a = 2.25 in, DFSPH viscosity 3e-4 m²/s.
FLOWSCOPE_A, FLOWSCOPE_NU = 0.05715, 3e-4
# The same Reynolds number √(g a) a / ν at this scale.
VISCOSITY = FLOWSCOPE_NU * (A / FLOWSCOPE_A) ** 1.5
G = 9.81
# Martin & Moyce (1952), a = 2.25 in: (T, front / a); crates/flowscope-sph/src/martin_moyce.rs.
SURGE_FRONT = [(0.0, 1.0), (0.832, 1.217), (1.219, 1.474), (1.997, 2.292), (2.547, 2.995),
               (3.345, 4.134), (4.034, 4.944)]
SOUND_SPEED = 10 * math.sqrt(2 * G * 2 * A)
EXPONENT = 7
# SPlisHSPlasH's fluid-block modes, and what the dense one's particles cover of the column, in
# (2r)² (measured: 8 845 particles of radius 1/142 m in the 1 m × 2 m column, against the square
# lattice's 9 870): its particle radius is scaled by 1/√ of it to hold the lattice's count.
DENSE_MODE = {"regular": 0, "dense": 2}
DENSE_AREA = 1.14
DEFAULT_SAMPLING = {"wcsph": "dense", "dfsph": "dense"}


def scene(method: str, n: int, sampling: str, models: str) -> dict:
    radius = A / n / 2
    if sampling == "dense":
        radius /= math.sqrt(DENSE_AREA)
    # Support radius 4r: with h half of it (the spacing 2r), the acoustic step 0.4 h/c and the
    # explicit viscosity's h²/(12ν), Flowscope's rules.
    acoustic_step = 0.4 * 2 * radius / SOUND_SPEED
    viscous_step = (2 * radius) ** 2 / (12 * VISCOSITY)
    wcsph = method == "wcsph"
    largest_step = min(acoustic_step if wcsph else 0.005, viscous_step)
    return {
        "Configuration": {
            "pause": False,
            "sim2D": True,
            "particleRadius": radius,
            "simulationMethod": 0 if wcsph else 4,
            "gravitation": [0, -G, 0],
            "cflMethod": 1,
            "cflFactor": 0.5 if wcsph else 1.0,
            "cflMinTimeStepSize": 1e-7,
            "cflMaxTimeStepSize": largest_step,
            # The first step, taken before the CFL rule has looked at the particles (default
            # 1e-3 s: at 224 across, 37 acoustic steps, and WCSPH blew up in it).
            "timeStepSize": largest_step,
            "boundaryHandlingMethod": 2,
            "enableVTKExport": False,
            "enablePartioExport": False,
            "WCSPH": {"stiffness": 1000 * SOUND_SPEED ** 2 / EXPONENT, "exponent": EXPONENT},
            "DFSPH": {"minIterations": 2, "maxIterations": 100, "maxError": 0.1,
                      "maxIterationsV": 100, "maxErrorV": 0.1, "enableDivergenceSolver": True},
        },
        "Materials": [{"id": "Fluid", "density0": 1000, "viscosityMethod": 1,
                       "Standard viscosity": {"viscosity": VISCOSITY}}],
        "RigidBodies": [{
            "geometryFile": os.path.join(models, "UnitBox.obj"),
            "translation": [3 * A, 1.5 * A, 0],
            "scale": [6 * A, 3 * A, 1],
            "isDynamic": False,
            "isWall": True,
            "mapInvert": True,
            "mapThickness": 0.0,
            "mapResolution": map_resolution(radius),
        }],
        "FluidBlocks": [{
            "denseMode": DENSE_MODE[sampling],
            "start": [0.0, 0.0, -1],
            "end": [A, 2 * A, 1],
            "translation": [radius, radius, 0.0],
            "scale": [1, 1, 1],
        }],
    }


def map_resolution(radius: float) -> list:
    """The walls' volume-map grid: cells 4/3 of the kernel's support, as in SPlisHSPlasH's 2D
    example (0.133 m for 0.1 m), over the box and the 8-support margin it adds on each side; two
    cells across the box's depth, which a 2D run samples at z = 0 only."""
    support = 4 * radius
    cell = 4 / 3 * support
    margin = 16 * support
    return [math.ceil((6 * A + margin) / cell), math.ceil((3 * A + margin) / cell), 2]


def reference_front(scaled_time: float) -> float:
    for (t0, z0), (t1, z1) in zip(SURGE_FRONT, SURGE_FRONT[1:]):
        if scaled_time <= t1:
            return z0 + (z1 - z0) * (scaled_time - t0) / (t1 - t0)
    return SURGE_FRONT[-1][1]


def fluid():
    model = sph.Simulation.getCurrent().getFluidModel(0)
    count = model.numActiveParticles()
    return model, count


def max_speed() -> float:
    model, count = fluid()
    fastest = 0.0
    for i in range(count):
        v = model.getVelocity(i)
        fastest = max(fastest, v[0] * v[0] + v[1] * v[1])
    return math.sqrt(fastest)


def report(method: str, sampling: str, run: dict, now: float) -> dict:
    """The JSON line for the scaled time reached at simulated time `now` (called in the step
    callback: the simulation is torn down when run() returns)."""
    elapsed = time.perf_counter() - run["started"] - run["excluded"]
    model, count = fluid()
    front, outside = -math.inf, 0
    for i in range(count):
        position = model.getPosition(i)
        x, y = float(position[0]), float(position[1])
        front = max(front, x)
        outside += not (0.0 <= x <= 6 * A and 0.0 <= y <= 3 * A)
    scaled = now * math.sqrt(2 * G / A)
    limit = 3 * math.sqrt(2 * G * 2 * A)
    reference = reference_front(scaled)
    problems = []
    if outside:
        problems.append(f"{outside} particles left the tank")
    if not run["fastest"] < limit:
        problems.append(f"speed {run['fastest']:.3g} m/s above 3 √(2g·2a) = {limit:.3g} m/s")
    if not abs(front / A - reference) <= 0.1 * reference:
        problems.append(f"front {front / A:.3f} a, Martin & Moyce {reference:.3f} a at T = {scaled:.3f}")
    return {
        "method": method,
        "sampling": sampling,
        "particles": count,
        "steps": run["steps"],
        # The first step, which builds the walls' volume map, counted at the mean's cost.
        "wall_s": elapsed * run["steps"] / max(run["steps"] - 1, 1),
        "simulated_time": now,
        "T": scaled,
        "front": front / A,
        "max_speed": run["fastest"],
        "outside": outside,
        "valid": not problems,
        "why": "; ".join(problems),
        "threads": os.environ.get("OMP_NUM_THREADS", "all"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("method", choices=["wcsph", "dfsph"])
    parser.add_argument("n", type=int, help="particles across the column (71: 10k, 224: 100k)")
    parser.add_argument("--until", required=True, metavar="T",
                        help="scaled end time T = t √(2g/a); several increasing times, "
                             "comma-separated, print a line each")
    parser.add_argument("--sampling", choices=sorted(DENSE_MODE),
                        help="how the column is filled (default: dense, the setting that comes "
                             "closest to Martin & Moyce)")
    args = parser.parse_args()
    sampling = args.sampling or DEFAULT_SAMPLING[args.method]
    targets = [float(t) for t in args.until.split(",")]
    if any(b <= a for a, b in zip(targets, targets[1:])):
        parser.error("the times of --until must increase")
    times = [t / math.sqrt(2 * G / A) for t in targets]
    # The wheel installs its scene data next to the interpreter.
    models = os.path.join(os.path.dirname(sys.executable), "data", "models")
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "dam_break_2d.json")
        with open(path, "w") as f:
            json.dump(scene(args.method, args.n, sampling, models), f)
        base = sph.Exec.SimulatorBase()
        base.init(useGui=False, outputDir=folder, sceneFile=path)
        sample_every = times[-1] / 40
        run = {"steps": 0, "next_sample": sample_every, "excluded": 0.0, "fastest": 0.0,
               "pending": list(times)}

        def after_step() -> None:
            run["steps"] += 1
            if run["steps"] == 1:
                run["started"] = time.perf_counter()
            now = float(sph.TimeManager.getCurrent().getTime())
            reached = run["pending"] and now >= run["pending"][0]
            if now >= run["next_sample"] or reached:
                started = time.perf_counter()
                run["fastest"] = max(run["fastest"], max_speed())
                run["next_sample"] += sample_every
                run["excluded"] += time.perf_counter() - started
            if reached:
                started = time.perf_counter()
                print(json.dumps(report(args.method, sampling, run, now)), flush=True)
                run["excluded"] += time.perf_counter() - started
                run["pending"].pop(0)
                if not run["pending"]:
                    base.setValueFloat(base.STOP_AT, now)

        base.setTimeStepCB(after_step)
        base.setValueFloat(base.STOP_AT, 2 * times[-1])
        base.run()
    # The library's teardown at exit can crash after the run; the report is out first.
    os._exit(0)


if __name__ == "__main__":
    main()
