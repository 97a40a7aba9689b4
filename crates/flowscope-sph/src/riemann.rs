//! The exact solution of the Riemann problem for the Euler equations of an ideal gas (Toro,
//! *Riemann Solvers and Numerical Methods for Fluid Dynamics*, ch. 4): the star-region pressure
//! by Newton iteration on the pressure function, then the self-similar solution sampled at any
//! x/t. The reference for the shock tube.

/// Density, velocity and pressure.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct State {
    pub rho: f64,
    pub u: f64,
    pub p: f64,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum RiemannError {
    #[error("the states must have positive density and pressure")]
    NonPhysical,
    #[error(
        "the states separate fast enough to create a vacuum, which this solver does not handle"
    )]
    Vacuum,
}

/// The solved problem: the two states, γ and the star region between the waves.
#[derive(Clone, Copy, Debug)]
pub struct Riemann {
    pub left: State,
    pub right: State,
    pub gamma: f64,
    pub p_star: f64,
    pub u_star: f64,
    pub rho_star_left: f64,
    pub rho_star_right: f64,
}

fn sound_speed(s: State, gamma: f64) -> f64 {
    (gamma * s.p / s.rho).sqrt()
}

/// Toro's f_K(p) and its derivative: the velocity jump across the K wave for star pressure p.
fn pressure_function(p: f64, s: State, gamma: f64) -> (f64, f64) {
    let c = sound_speed(s, gamma);
    if p > s.p {
        let a = 2.0 / ((gamma + 1.0) * s.rho);
        let b = (gamma - 1.0) / (gamma + 1.0) * s.p;
        let root = (a / (p + b)).sqrt();
        ((p - s.p) * root, root * (1.0 - 0.5 * (p - s.p) / (p + b)))
    } else {
        let ratio = p / s.p;
        let f = 2.0 * c / (gamma - 1.0) * (ratio.powf((gamma - 1.0) / (2.0 * gamma)) - 1.0);
        (f, ratio.powf(-(gamma + 1.0) / (2.0 * gamma)) / (s.rho * c))
    }
}

impl Riemann {
    pub fn solve(left: State, right: State, gamma: f64) -> Result<Self, RiemannError> {
        if [left.rho, left.p, right.rho, right.p].iter().any(|v| v.is_nan() || *v <= 0.0) {
            return Err(RiemannError::NonPhysical);
        }
        let (cl, cr) = (sound_speed(left, gamma), sound_speed(right, gamma));
        if 2.0 / (gamma - 1.0) * (cl + cr) <= right.u - left.u {
            return Err(RiemannError::Vacuum);
        }
        // Newton from the two-rarefaction guess, which is exact when both waves are rarefactions.
        let z = (gamma - 1.0) / (2.0 * gamma);
        let mut p = ((cl + cr - 0.5 * (gamma - 1.0) * (right.u - left.u))
            / (cl / left.p.powf(z) + cr / right.p.powf(z)))
        .powf(1.0 / z);
        for _ in 0..100 {
            let (fl, dl) = pressure_function(p, left, gamma);
            let (fr, dr) = pressure_function(p, right, gamma);
            let next = (p - (fl + fr + right.u - left.u) / (dl + dr)).max(1e-12 * p);
            let change = 2.0 * (next - p).abs() / (next + p);
            p = next;
            if change < 1e-14 {
                break;
            }
        }
        let (fl, _) = pressure_function(p, left, gamma);
        let (fr, _) = pressure_function(p, right, gamma);
        let u_star = 0.5 * (left.u + right.u) + 0.5 * (fr - fl);
        let star_density = |s: State| {
            let ratio = p / s.p;
            if p > s.p {
                let g = (gamma - 1.0) / (gamma + 1.0);
                s.rho * (ratio + g) / (g * ratio + 1.0)
            } else {
                s.rho * ratio.powf(1.0 / gamma)
            }
        };
        Ok(Self {
            left,
            right,
            gamma,
            p_star: p,
            u_star,
            rho_star_left: star_density(left),
            rho_star_right: star_density(right),
        })
    }

    /// Speed of the shock on side `s` (moving away from the contact).
    fn shock_speed(&self, s: State, sign: f64) -> f64 {
        let g = self.gamma;
        let c = sound_speed(s, g);
        s.u + sign * c * ((g + 1.0) / (2.0 * g) * self.p_star / s.p + (g - 1.0) / (2.0 * g)).sqrt()
    }

    /// Speeds of the left wave's head and tail (equal for a shock), the contact, and the right
    /// wave's tail and head.
    pub fn wave_speeds(&self) -> [f64; 5] {
        let g = self.gamma;
        let (l, r) = (self.left, self.right);
        let [left_head, left_tail] = if self.p_star > l.p {
            [self.shock_speed(l, -1.0); 2]
        } else {
            let c_star = sound_speed(l, g) * (self.p_star / l.p).powf((g - 1.0) / (2.0 * g));
            [l.u - sound_speed(l, g), self.u_star - c_star]
        };
        let [right_tail, right_head] = if self.p_star > r.p {
            [self.shock_speed(r, 1.0); 2]
        } else {
            let c_star = sound_speed(r, g) * (self.p_star / r.p).powf((g - 1.0) / (2.0 * g));
            [self.u_star + c_star, r.u + sound_speed(r, g)]
        };
        [left_head, left_tail, self.u_star, right_tail, right_head]
    }

    /// The state at `xi` = (x − x₀) / t.
    pub fn sample(&self, xi: f64) -> State {
        let g = self.gamma;
        let [left_head, left_tail, contact, right_tail, right_head] = self.wave_speeds();
        let star = |rho| State { rho, u: self.u_star, p: self.p_star };
        // Inside a rarefaction fan of state s (sign +1 left, −1 right).
        let fan = |s: State, sign: f64| {
            let c = sound_speed(s, g);
            let base = 2.0 / (g + 1.0) + sign * (g - 1.0) / ((g + 1.0) * c) * (s.u - xi);
            let base = base.max(0.0);
            State {
                rho: s.rho * base.powf(2.0 / (g - 1.0)),
                u: 2.0 / (g + 1.0) * (sign * c + 0.5 * (g - 1.0) * s.u + xi),
                p: s.p * base.powf(2.0 * g / (g - 1.0)),
            }
        };
        if xi < contact {
            if xi < left_head {
                self.left
            } else if xi < left_tail {
                fan(self.left, 1.0)
            } else {
                star(self.rho_star_left)
            }
        } else if xi > right_head {
            self.right
        } else if xi > right_tail {
            fan(self.right, -1.0)
        } else {
            star(self.rho_star_right)
        }
    }

    /// Specific internal energy p / ((γ − 1) ρ) of a state.
    pub fn energy(&self, s: State) -> f64 {
        s.p / ((self.gamma - 1.0) * s.rho)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sod() -> Riemann {
        Riemann::solve(
            State { rho: 1.0, u: 0.0, p: 1.0 },
            State { rho: 0.125, u: 0.0, p: 0.1 },
            1.4,
        )
        .unwrap()
    }

    #[test]
    fn sod_star_state_and_waves_match_the_published_values() {
        let s = sod();
        let close = |a: f64, b: f64| (a - b).abs() < 5e-5;
        assert!(close(s.p_star, 0.30313), "p* {}", s.p_star);
        assert!(close(s.u_star, 0.92745), "u* {}", s.u_star);
        assert!(close(s.rho_star_left, 0.42632), "ρ*L {}", s.rho_star_left);
        assert!(close(s.rho_star_right, 0.26557), "ρ*R {}", s.rho_star_right);
        let at = s.wave_speeds().map(|v| 0.5 + 0.2 * v);
        for (got, want) in [(at[0], 0.26336), (at[1], 0.48594), (at[2], 0.68549), (at[4], 0.85043)]
        {
            assert!(close(got, want), "wave at {got}, expected {want}");
        }
    }

    #[test]
    fn samples_are_continuous_across_the_rarefaction_edges() {
        let s = sod();
        let [head, tail, ..] = s.wave_speeds();
        for (edge, outside) in
            [(head, s.left), (tail, State { rho: s.rho_star_left, u: s.u_star, p: s.p_star })]
        {
            for inside in [s.sample(edge + 1e-9), s.sample(edge - 1e-9)] {
                assert!((inside.rho - outside.rho).abs() < 1e-6, "{inside:?} vs {outside:?}");
                assert!((inside.p - outside.p).abs() < 1e-6);
            }
        }
    }

    #[test]
    fn a_vacuum_is_refused() {
        let left = State { rho: 1.0, u: -20.0, p: 0.1 };
        let right = State { rho: 1.0, u: 20.0, p: 0.1 };
        assert_eq!(Riemann::solve(left, right, 1.4).unwrap_err(), RiemannError::Vacuum);
    }
}
