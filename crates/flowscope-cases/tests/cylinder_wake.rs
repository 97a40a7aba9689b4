//! Schäfer–Turek 2D-2 (Re 100): the shedding frequency. Quick version of the check in
//! `cargo xtask validate`; the benchmark's Strouhal number is 0.295–0.305.

use flowscope_cases::create;

#[test]
fn strouhal_number_within_five_percent_of_the_benchmark() {
    let spec = flowscope_cases::find("cylinder-wake").unwrap();
    let mut params = spec.defaults();
    spec.set_text(&mut params, "n", "48").unwrap();
    let mut case = create("cylinder-wake", &params, None).unwrap();
    let names: Vec<&str> = spec.observables.iter().map(|o| o.name).collect();
    let strouhal = names.iter().position(|n| *n == "strouhal").unwrap();
    while case.time() < 5.0 {
        case.step(50).unwrap();
    }
    let st = case.observables().unwrap()[strouhal];
    eprintln!("Strouhal number at 48 cells across, t = {:.2}: {st:.4}", case.time());
    assert!((st - 0.30).abs() / 0.30 < 0.05, "St = {st}");
}
