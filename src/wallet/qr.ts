// A payment request as a QR code, drawn as one SVG path (no image, no inline style: the page's
// Content-Security-Policy allows neither). uqr makes the matrix; this only draws it. Pure.
import { encode } from "uqr";

/** Light modules around the code, as the QR standard asks for a reader to find it. */
const QR_BORDER_MODULES = 2;

export interface QrDrawing {
  /** Width and height in modules, border included: the SVG's viewBox is 0 0 size size. */
  readonly size: number;
  /** One path of unit squares, one a dark module. */
  readonly path: string;
}

export function qrDrawing(text: string): QrDrawing {
  // M: a phone's camera still reads it with 15 % of it smudged or glared.
  const { data, size } = encode(text, { ecc: "M", border: QR_BORDER_MODULES });
  let path = "";
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) if (data[y]![x]) path += `M${x} ${y}h1v1h-1z`;
  }
  return { size, path };
}
