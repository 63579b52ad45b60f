//! Fuzzes the FITS image reader (used for optics read from FITS files): any file must give
//! an image or an error, never a panic or an allocation the header alone asks for.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::io::Write;

fuzz_target!(|data: &[u8]| {
    let mut file = tempfile::Builder::new().suffix(".fits").tempfile().expect("temp file");
    file.write_all(data).expect("write");
    file.flush().expect("flush");
    match diffract_io::read_image(file.path(), 0) {
        Ok(img) => assert!(img.data.len() <= diffract_io::MAX_IMAGE_PIXELS),
        Err(e) => assert!(!e.to_string().contains('\n'), "multi-line error: {e}"),
    }
});
