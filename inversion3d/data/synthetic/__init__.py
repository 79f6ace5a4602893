"""A procedural multi-view head dataset (issue 16 item 1): analytic signed-distance heads rendered
with EG3D's cameras, written in the aligned-folder layout of data/folder.py.

  sdf.py     signed-distance primitives (ellipsoids, clip planes) and the smooth unions
  parts.py   the part table: every head part (skin, eyes, brows, hair styles, clothes, accessories)
             with its base geometry (world units, EG3D frame: +y up, face towards +z)
  scene.py   a random head from a key: proportions, hair style, colours, light, background
  render.py  jitted batched sphere tracing: image, depth (distance along the ray, as the EG3D
             renderer's image_depth), foreground mask, accessory mask
  poses.py   camera labels of the splits (FFHQ-like train poses, held-out test views, 360 degrees)
  writer.py  resumable, atomic writing of a split (chunks of 1000 scenes) + dataset.json / <split>.txt
  builder.py the tfds builder config of a written split (the aligned-folder builder, array_record)

The one reader of what it writes is data/folder.py (and the tfds builder over it, tfds_builder.py).
"""
