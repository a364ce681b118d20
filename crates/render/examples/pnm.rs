//! `cargo run -p dcmdisc-render --example pnm -- FILE OUT [FRAME] [first|minmax|C,W]`: one
//! frame as PGM/PPM, for comparing with dcmtk's dcmj2pnm by hand.

use dcmdisc_render::{Instance, VoiFunction, Window};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let inst = Instance::open_path(std::path::Path::new(&args[1]))?;
    let frame = args.get(3).map_or(Ok(0), |f| f.parse())?;
    let window = match args.get(4).map(String::as_str) {
        None | Some("first") => Window::Default,
        Some("minmax") => Window::MinMax,
        Some(cw) => {
            let (c, w) = cw.split_once(',').ok_or("C,W")?;
            Window::Linear {
                center: c.parse()?,
                width: w.parse()?,
                function: VoiFunction::Linear,
            }
        }
    };
    for p in inst.presets() {
        eprintln!("preset: {}", p.label());
    }
    std::fs::write(&args[2], inst.render(frame, &window)?.to_pnm())?;
    Ok(())
}
