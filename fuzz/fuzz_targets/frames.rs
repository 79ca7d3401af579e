//! Fuzz target: the frame splitter on any bytes, in both framings. Frames must lie inside the body, in order,
//! and the splitter must always finish.
#![no_main]

use drainscale::logplex::frame::{Frame, Frames, Framing};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    for framing in [Framing::OctetCounted, Framing::NewlineDelimited] {
        let range = body.as_ptr_range();
        let mut last_end = range.start;
        let mut count = 0usize;
        for frame in Frames::with_framing(body, framing) {
            count += 1;
            assert!(count <= body.len() + 1, "more frames than bytes");
            let text = match frame {
                Frame::Good { text, ascii } => {
                    assert_eq!(ascii, text.is_ascii(), "ascii flag wrong");
                    text
                }
                Frame::Damaged {
                    salvaged: Some(text),
                    ..
                } => text,
                Frame::Damaged { salvaged: None, .. } => continue,
            };
            let r = text.as_ptr_range();
            assert!(
                r.start >= last_end && r.end <= range.end,
                "frame outside the body or out of order"
            );
            last_end = r.end;
        }
    }
});
