/**
 * Image decoding and spec §3 preprocessing, plain Java (no Quarkus/DJL types).
 *
 * <p>{@link io.inctrl.serve.image.ImageDecoder} turns PNG/JPEG/BMP/TIFF bytes into a
 * {@link io.inctrl.serve.image.DecodedImage} in the mode Pillow would report; {@link io.inctrl.serve.image.PilResize}
 * reproduces Pillow's resize bit for bit; {@link io.inctrl.serve.image.ImagePreprocessor} applies the torchvision
 * Resize/CenterCrop/convert("RGB")/ToTensor/Normalize chain. Parity is pinned by fixtures generated with
 * {@code server/src/test/python/make_preprocess_fixtures.py} (Pillow 13.0.0, torchvision 0.22.1).
 *
 * <p><b>Damaged files.</b> {@code javax.imageio} decodes some damaged files that Pillow (without
 * {@code LOAD_TRUNCATED_IMAGES}) refuses; we refuse them as well, as {@code UNDECODABLE}, measured against Pillow 13:
 * <ul>
 *   <li><b>PNG chunk CRCs.</b> Pillow verifies the CRC of every chunk it reads while opening the file, i.e. every
 *       chunk before the first IDAT ("broken PNG file (bad header checksum)"), and skips the CRCs of IDAT and later
 *       chunks. ImageIO verifies none, so {@code ImageDecoder} walks the chunks up to the first IDAT with
 *       {@link java.util.zip.CRC32}. A bad IDAT or IEND CRC is accepted, as by Pillow.</li>
 *   <li><b>Truncated JPEG.</b> Pillow raises "image file is truncated" when the stream ends before the decoder is
 *       done, which includes a JPEG missing only its end-of-image marker. The JDK decoder instead inserts a fake EOI
 *       and reports "Truncated File - Missing EOI marker" to its {@code IIOReadWarningListener}; that warning (and
 *       libjpeg's "Premature end of JPEG file") makes the image undecodable. Other libjpeg warnings ("extraneous
 *       bytes before marker") are accepted, as Pillow ignores them. Known difference: a JPEG cut just before its
 *       EOI and then padded with zero bytes is accepted by Pillow and refused here.</li>
 *   <li><b>Truncated PNG</b> already fails in ImageIO's inflater (no extra check).</li>
 * </ul>
 */
package io.inctrl.serve.image;
