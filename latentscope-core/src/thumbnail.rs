//! Thumbnails of a layout: a scatter plot drawn in Rust and encoded as PNG,
//! so a user comparing runs sees each one at a glance (no external program).

use std::io::Write;

use flate2::Compression;
use flate2::write::ZlibEncoder;

/// Side of the square thumbnail, in pixels.
pub(crate) const SIZE: usize = 512;

/// A qualitative palette for cluster colours (noise is drawn grey).
const PALETTE: [[u8; 3]; 12] = [
    [31, 119, 180],
    [255, 127, 14],
    [44, 160, 44],
    [214, 39, 40],
    [148, 103, 189],
    [140, 86, 75],
    [227, 119, 194],
    [188, 189, 34],
    [23, 190, 207],
    [57, 59, 121],
    [99, 121, 57],
    [140, 109, 49],
];

/// Draws points (interleaved x, y in [-1, 1]) as a PNG; with `clusters`,
/// each point is coloured by its cluster (negative: noise, grey).
pub(crate) fn scatter_png(xy: &[f32], clusters: Option<&[i64]>) -> Vec<u8> {
    let n = xy.len() / 2;
    // Smaller, fainter dots for bigger inputs keep dense regions readable.
    let alpha = (4000.0 / (n.max(1) as f32)).sqrt().clamp(0.08, 0.9);
    let mut rgb = vec![255.0f32; SIZE * SIZE * 3];
    let margin = 8.0;
    let scale = (SIZE as f32 - 2.0 * margin) / 2.0;
    for (i, p) in xy.chunks_exact(2).enumerate() {
        if !p[0].is_finite() || !p[1].is_finite() {
            continue;
        }
        let px = (margin + (p[0].clamp(-1.0, 1.0) + 1.0) * scale) as usize;
        let py = (margin + (1.0 - p[1].clamp(-1.0, 1.0)) * scale) as usize;
        let color = match clusters.map(|c| c[i]) {
            Some(c) if c < 0 => [170, 170, 170],
            Some(c) => PALETTE[(c as usize) % PALETTE.len()],
            None => [40, 60, 120],
        };
        for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
            let (x, y) = (px + dx, py + dy);
            if x < SIZE && y < SIZE {
                let o = (y * SIZE + x) * 3;
                for c in 0..3 {
                    rgb[o + c] += (color[c] as f32 - rgb[o + c]) * alpha;
                }
            }
        }
    }
    let pixels: Vec<u8> = rgb
        .iter()
        .map(|v| v.round().clamp(0.0, 255.0) as u8)
        .collect();
    encode_rgb(&pixels, SIZE, SIZE)
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// Encodes 8-bit RGB pixels (row-major) as a PNG file.
pub(crate) fn encode_rgb(pixels: &[u8], width: usize, height: usize) -> Vec<u8> {
    let mut raw = Vec::with_capacity((width * 3 + 1) * height);
    for row in pixels.chunks_exact(width * 3) {
        raw.push(0); // filter: none
        raw.extend_from_slice(row);
    }
    let mut z = ZlibEncoder::new(Vec::new(), Compression::default());
    // Writing to a Vec cannot fail.
    let _ = z.write_all(&raw);
    let idat = z.finish().unwrap_or_default();
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&(width as u32).to_be_bytes());
    ihdr.extend_from_slice(&(height as u32).to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit, RGB, deflate, no filter, no interlace
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &idat);
    chunk(&mut out, b"IEND", &[]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_matches_known_value() {
        assert_eq!(crc32(b"IEND"), 0xAE42_6082);
    }

    #[test]
    fn png_has_signature_and_size() {
        let png = scatter_png(&[0.0, 0.0, 0.5, -0.5], Some(&[0, -1]));
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(&png[16..20], &(SIZE as u32).to_be_bytes());
    }
}
