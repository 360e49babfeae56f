/**
 * A thumbnail of a rendered tile (the engine's `getTilePreviews`): its 8-bit RGB drawn on a
 * canvas (no image URL, so the strict CSP needs nothing more), scaled up by CSS.
 */
import { useEffect, useRef } from 'react';
import { base64ToBytes } from '../../../protocol/binary.js';
import type { TilePreview } from '../../../protocol/engine-api.js';

export function TileThumb({ preview, label, small = false }: { preview: TilePreview; label: string; small?: boolean }) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    // No 2D canvas in a test's DOM (jsdom): the label still says what it is.
    if (typeof CanvasRenderingContext2D === 'undefined') return;
    const ctx = ref.current?.getContext('2d');
    if (!ctx) return;
    const rgb = base64ToBytes(preview.rgb);
    const image = ctx.createImageData(preview.width, preview.height);
    for (let i = 0; i < preview.width * preview.height; i++) {
      image.data[4 * i] = rgb[3 * i]!;
      image.data[4 * i + 1] = rgb[3 * i + 1]!;
      image.data[4 * i + 2] = rgb[3 * i + 2]!;
      image.data[4 * i + 3] = 255;
    }
    ctx.putImageData(image, 0, 0);
  }, [preview]);
  return <canvas ref={ref} className={small ? 'tile-thumb is-small' : 'tile-thumb'} width={preview.width} height={preview.height} role="img" aria-label={label} />;
}
