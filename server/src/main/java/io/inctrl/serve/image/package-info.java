/**
 * Image decoding and spec §3 preprocessing, plain Java (no Quarkus/DJL types).
 *
 * <p>{@link io.inctrl.serve.image.ImageDecoder} turns PNG/JPEG/BMP/TIFF bytes into a
 * {@link io.inctrl.serve.image.DecodedImage} in the mode Pillow would report; {@link io.inctrl.serve.image.PilResize}
 * reproduces Pillow's resize bit for bit; {@link io.inctrl.serve.image.ImagePreprocessor} applies the torchvision
 * Resize/CenterCrop/convert("RGB")/ToTensor/Normalize chain. Parity is pinned by fixtures generated with
 * {@code server/src/test/python/make_preprocess_fixtures.py} (Pillow 13.0.0, torchvision 0.22.1).
 */
package io.inctrl.serve.image;
