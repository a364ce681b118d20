//! `cargo run --release -p dcmdisc-render --example stages -- FILE [N]`: time of each stage
//! (open, render at the default window, JPEG q85) over N rounds of one file, for profiling.

use std::time::Instant;

use dcmdisc_render::{jpeg, Instance, Window};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let path = std::path::Path::new(&args[1]);
    let n: u32 = args.get(2).map_or(Ok(50), |s| s.parse())?;
    let (mut t_open, mut t_render, mut t_jpeg) = (0.0, 0.0, 0.0);
    let mut bytes = 0;
    for _ in 0..n {
        let t = Instant::now();
        let inst = Instance::open_path(path)?;
        t_open += t.elapsed().as_secs_f64();
        let t = Instant::now();
        let img = inst.render(0, &Window::Default)?;
        t_render += t.elapsed().as_secs_f64();
        let t = Instant::now();
        bytes = jpeg(&img, 85)?.len();
        t_jpeg += t.elapsed().as_secs_f64();
    }
    let ms = |t: f64| t * 1000.0 / f64::from(n);
    println!(
        "open {:.2} ms  render {:.2} ms  jpeg {:.2} ms  ({bytes} bytes)",
        ms(t_open),
        ms(t_render),
        ms(t_jpeg)
    );
    Ok(())
}
