//! Buffers made from slices hold exactly those bytes (padded to the copy alignment with zeros),
//! although they are filled through the queue rather than mapped at creation. Runs on llvmpipe.

use flowscope_gpu::{buffers, context_for_tests};

#[test]
fn buffers_from_slices_read_back_as_written() {
    let Some(ctx) = context_for_tests() else { return };
    let (device, queue) = (&ctx.device, &ctx.queue);
    let values: Vec<f32> = (0..1000).map(|k| (k as f32 * 0.37).sin()).collect();
    let storage = buffers::storage_from(device, queue, "values", &values);
    assert_eq!(buffers::read_blocking::<f32>(device, queue, &storage).unwrap(), values);

    // Five bytes: padded to eight with zeros.
    let odd = buffers::storage_from(device, queue, "odd", &[1u8, 2, 3, 4, 5]);
    assert_eq!(odd.size(), 8);
    assert_eq!(
        buffers::read_blocking::<u8>(device, queue, &odd).unwrap(),
        [1, 2, 3, 4, 5, 0, 0, 0]
    );

    // Nothing at all still makes a bindable buffer.
    assert_eq!(buffers::storage_from::<f32>(device, queue, "empty", &[]).size(), 4);

    let uniform = buffers::uniform_from(device, queue, "uniform", &[7u32, 8, 9, 10]);
    assert_eq!(uniform.size(), 16);
    assert!(uniform.usage().contains(flowscope_gpu::wgpu::BufferUsages::UNIFORM));
}

/// A read requested while another is in flight is not lost: `catch_up` issues it once the first
/// has landed, and what is taken at the end is the state last asked for (a paused page's
/// observables after `step(n)`).
#[test]
fn a_skipped_read_is_caught_up_with_the_latest_state() {
    let Some(ctx) = context_for_tests() else { return };
    let (device, queue) = (&ctx.device, &ctx.queue);
    let reader = buffers::AsyncRead::new(device, "reader", &[4]);
    let state = buffers::storage_from(device, queue, "state", &[1.0f32; 4]);
    reader.request(device, queue, &[&state]);
    queue.write_buffer(&state, 0, bytemuck::cast_slice(&[2.0f32; 4]));
    reader.request(device, queue, &[&state]);
    let mut owed = true;
    for _ in 0..100 {
        buffers::wait_idle(device).unwrap();
        owed = reader.catch_up(device, queue, &[&state]);
        if !owed {
            break;
        }
    }
    assert!(!owed, "the skipped read never landed");
    assert_eq!(reader.take(), Some(vec![vec![2.0; 4]]), "the state last asked for");
}
