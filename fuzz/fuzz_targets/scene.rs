//! Fuzzes the scene reader: any bytes must give a scene or an error, never a panic, and the
//! error must be one line.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match diffract_io::Scene::from_toml_str(text, None) {
        Ok(scene) => {
            // Planning samples the optics; keep it to small systems so the fuzzer stays fast.
            if scene.system.npix() <= 64 {
                let _ = scene.system.plan();
            }
        }
        Err(e) => assert!(!e.to_string().contains('\n'), "multi-line error: {e}"),
    }
});
