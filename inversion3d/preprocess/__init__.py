"""In-the-wild photos -> aligned crops + 25-D cameras (editing-and-eval.md §6).

  mtcnn_nets.py   P-, R-, O-Net (Flax) and the state_dict -> Flax layout change
  weights.py      finds facenet-pytorch's shipped MTCNN weights (never downloads) and reads them safely
  boxes.py        NMS, box regression, area resampling (numpy)
  mtcnn.py        the detection cascade -> boxes, scores, five landmarks
  align.py        EG3D (Deep3DFaceRecon POS, 1024 -> 700 -> 512) and PanoHead (FFHQ quad, 563) crops
  pose.py         camera from the five landmarks (PnP on a mean 5-point template) -> EG3D / PanoHead labels
  dataset_json.py reading, writing and validating dataset.json
  pipeline.py     one photo -> crop + label or a reason it was skipped; folders; `inversion3d preprocess`
"""
