//! The model loader on arbitrary bytes.
//!
//! Besides "no panic, no unjustified allocation" (the libFuzzer memory limits), a file that
//! loads must describe a network that validates, is finite, runs, and saves back to bytes that
//! load as the same network.
#![no_main]

use backprop::model_io;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let Ok(net) = model_io::from_bytes(bytes) else {
        return;
    };
    net.architecture().validate().unwrap();
    assert!(net.is_finite());
    let n_in = net.layers[0].n_in;
    let a = net.feedforward(&vec![0.5; n_in]).unwrap();
    assert_eq!(a.len(), net.layers.last().unwrap().n_out);
    let again = model_io::from_bytes(&model_io::to_bytes(&net).unwrap()).unwrap();
    assert_eq!(again, net);
});
