"""faceapi_ref.py - numpy reference of face-api's face descriptor (FaceRecognitionNet) and
age/gender (AgeGenderNet on TinyXception) networks, written from face-api's TypeScript sources
(src/faceRecognitionNet/*.ts, src/xception/TinyXception.ts, src/ageGenderNet/AgeGenderNet.ts,
src/dom/NetInput.ts, src/ops/padToSquare.ts) and TF's padding rules, for the per-layer golden
test of the C networks (convert/golden/golden_faceapi.py).

It works on the TF.js weights as convert/faceapi.py reads them (TF layout: NHWC activations,
HWIO filters), independently of the converter's permutations, and computes in float64 on the
float32 weights and inputs. Every forward returns the named activations the C hook reports
(include/models/faceapi.h), as NHWC float64 arrays.

    params = {name: float32 array}   (faceapi.dequantize of each read_tfjs entry)
    x = preprocess(img, 150)         # img (H, W, 3) float 0..255 -> (150, 150, 3)
    acts = recognition_forward(params, x[None])   # acts["descriptor"] (1, 128)
"""
import numpy as np

MEAN_RGB = np.array([122.782, 117.001, 104.298])


# --- preprocessing (NetInput.toBatchTensor(size, isCenterInputs=true) on a tensor) ---------
def pad_to_square(img):
    """padToSquare(img, isCenterImage=true): zeros on the short axis; round(diff/2) after the
    image, the rest before it."""
    h, w = img.shape[:2]
    if h == w:
        return img
    diff = abs(h - w)
    after = int(np.floor(diff * 0.5 + 0.5))  # JS Math.round of a positive half-integer rounds up
    before = diff - after
    if h > w:
        return np.pad(img, ((0, 0), (before, after), (0, 0)))
    return np.pad(img, ((before, after), (0, 0), (0, 0)))


def resize_bilinear(img, size):
    """tf.image.resizeBilinear(img, [size, size], alignCorners=false, halfPixelCenters=false),
    tfjs-backend-cpu: source = ratio * dst, floor/ceil neighbours clamped, lerp columns then rows,
    computed in double and stored as float32."""
    h, w, _ = img.shape
    x = img.astype(np.float64)
    out = np.empty((size, size, img.shape[2]), dtype=np.float32)
    rr, cr = h / size, w / size
    for r in range(size):
        fr = rr * r
        r0 = max(0, int(np.floor(fr)))
        r1 = min(h - 1, int(np.ceil(fr)))
        dr = fr - r0
        for c in range(size):
            fc = cr * c
            c0 = max(0, int(np.floor(fc)))
            c1 = min(w - 1, int(np.ceil(fc)))
            dc = fc - c0
            top = x[r0, c0] + (x[r0, c1] - x[r0, c0]) * dc
            bot = x[r1, c0] + (x[r1, c1] - x[r1, c0]) * dc
            out[r, c] = top + (bot - top) * dr
    return out


def preprocess(img, size):
    """img (H, W, 3) 0..255 -> (size, size, 3) float32 network input before normalisation."""
    x = pad_to_square(np.asarray(img, dtype=np.float32))
    if x.shape[0] != size:
        x = resize_bilinear(x, size)
    return x.astype(np.float32)


def dlib_box(lm5, w, h):
    """FaceLandmarks.alignDlib with FaceLandmarks5's reference points (left eye, right eye, the
    mean of the two mouth corners), then Box.clipAtImageBorders: (x, y, width, height) ints.
    lm5: 5 (x, y) points in image pixels (MTCNN order)."""
    p = np.asarray(lm5, dtype=np.float64)
    mouth = (p[3] + p[4]) / 2
    refs = [p[0], p[1], mouth]
    d = (np.hypot(*(mouth - p[0])) + np.hypot(*(mouth - p[1]))) / 2
    size = int(np.floor(d / 0.45))
    cx = (refs[0][0] + refs[1][0] + refs[2][0]) / 3
    cy = (refs[0][1] + refs[1][1] + refs[2][1]) / 3
    x = int(np.floor(max(0.0, cx - 0.5 * size)))
    y = int(np.floor(max(0.0, cy - 0.43 * size)))
    bw, bh = min(size, w + x), min(size, h + y)
    # clipAtImageBorders
    x0, y0 = max(x, 0), max(y, 0)
    bw = min(x + bw - x0, w - x0)
    bh = min(y + bh - y0, h - y0)
    return x0, y0, bw, bh


# --- TF ops in NHWC, float64 ---------------------------------------------------------------
def _same_pads(n, k, s):
    out = -(-n // s)
    total = max((out - 1) * s + k - n, 0)
    return out, total // 2, total - total // 2


def conv2d(x, w, stride, padding):
    """tf.conv2d: x (N,H,W,Cin), w (kh,kw,Cin,Cout) HWIO."""
    kh, kw = w.shape[:2]
    n, h, wd, _ = x.shape
    if padding == "same":
        ho, pt, pb = _same_pads(h, kh, stride)
        wo, pl, pr = _same_pads(wd, kw, stride)
        x = np.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)))
    else:
        ho, wo = (h - kh) // stride + 1, (wd - kw) // stride + 1
    w = w.astype(np.float64)
    out = np.zeros((n, ho, wo, w.shape[3]))
    for i in range(kh):
        for j in range(kw):
            patch = x[:, i:i + stride * (ho - 1) + 1:stride, j:j + stride * (wo - 1) + 1:stride, :]
            out += patch @ w[i, j]
    return out


def depthwise3x3_same(x, w):
    """tf.separableConv2d's depthwise half, stride 1, 'same': w (kh,kw,C,1)."""
    kh, kw = w.shape[:2]
    n, h, wd, c = x.shape
    xp = np.pad(x, ((0, 0), (kh // 2, kh // 2), (kw // 2, kw // 2), (0, 0)))
    out = np.zeros_like(x, dtype=np.float64)
    for i in range(kh):
        for j in range(kw):
            out += xp[:, i:i + h, j:j + wd, :] * w[i, j, :, 0].astype(np.float64)
    return out


def separable(x, p, prefix):
    """depthwiseSeparableConv: separableConv2d(stride 1, 'same') + bias."""
    y = depthwise3x3_same(x, p[prefix + "/depthwise_filter"])
    return y @ p[prefix + "/pointwise_filter"][0, 0].astype(np.float64) + p[prefix + "/bias"]


def max_pool(x, k, s, padding):
    n, h, w, c = x.shape
    if padding == "same":
        ho, pt, pb = _same_pads(h, k, s)
        wo, pl, pr = _same_pads(w, k, s)
        x = np.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)), constant_values=-np.inf)
    else:
        ho, wo = (h - k) // s + 1, (w - k) // s + 1
    out = np.full((n, ho, wo, c), -np.inf)
    for i in range(k):
        for j in range(k):
            out = np.maximum(out, x[:, i:i + s * (ho - 1) + 1:s, j:j + s * (wo - 1) + 1:s, :])
    return out


def avg_pool_valid(x, k, s):
    n, h, w, c = x.shape
    ho, wo = (h - k) // s + 1, (w - k) // s + 1
    out = np.zeros((n, ho, wo, c))
    for i in range(k):
        for j in range(k):
            out += x[:, i:i + s * (ho - 1) + 1:s, j:j + s * (wo - 1) + 1:s, :]
    return out / (k * k)


def normalize(x):
    """normalize(x, meanRgb).div(255)"""
    return (x.astype(np.float64) - MEAN_RGB) / 255.0


# --- FaceRecognitionNet ----------------------------------------------------------------------
RESIDUALS = ["conv32_1", "conv32_2", "conv32_3", "conv64_down", "conv64_1", "conv64_2", "conv64_3",
             "conv128_down", "conv128_1", "conv128_2", "conv256_down", "conv256_1", "conv256_2",
             "conv256_down_out"]


def _conv_layer(x, p, prefix, stride, relu, padding="same"):
    y = conv2d(x, p[prefix + "/conv/filters"], stride, padding) + p[prefix + "/conv/bias"]
    y = y * p[prefix + "/scale/weights"] + p[prefix + "/scale/biases"]
    return np.maximum(y, 0) if relu else y


def _residual(x, p, prefix):
    down = prefix.endswith("_down") or prefix.endswith("_down_out")
    if not down:
        y = _conv_layer(x, p, prefix + "/conv1", 1, True)
        y = _conv_layer(y, p, prefix + "/conv2", 1, False)
        return np.maximum(y + x, 0)
    y = _conv_layer(x, p, prefix + "/conv1", 2, True, "valid")
    y = _conv_layer(y, p, prefix + "/conv2", 1, False)
    pooled = avg_pool_valid(x, 2, 2)
    if pooled.shape[1] != y.shape[1]:  # 3x3 conv output vs 4x4 pool: zero row and column appended
        y = np.pad(y, ((0, 0), (0, 1), (0, 1), (0, 0)))
    if pooled.shape[3] != y.shape[3]:  # channels doubled: the shortcut gets zero channels
        pooled = np.concatenate([pooled, np.zeros_like(pooled)], axis=3)
    return np.maximum(pooled + y, 0)


def recognition_forward(p, x):
    """x (N,150,150,3) 0..255 -> named activations; 'descriptor' (N,128)."""
    acts = {}
    h = normalize(x)
    acts["input"] = h
    h = _conv_layer(h, p, "conv32_down", 2, True, "valid")
    acts["conv32_down"] = h
    h = max_pool(h, 3, 2, "valid")
    acts["max_pool"] = h
    for r in RESIDUALS:
        h = _residual(h, p, r)
        acts[r] = h
    g = h.mean(axis=(1, 2))
    acts["avg_pool"] = g
    acts["descriptor"] = g @ p["fc"].astype(np.float64)
    return acts


# --- AgeGenderNet (TinyXception with 2 main blocks) ---------------------------------------------
def _reduction(x, p, prefix, activate_input):
    y = np.maximum(x, 0) if activate_input else x
    y = separable(y, p, prefix + "/separable_conv0")
    y = separable(np.maximum(y, 0), p, prefix + "/separable_conv1")
    y = max_pool(y, 3, 2, "same")
    e = conv2d(x, p[prefix + "/expansion_conv/filters"], 2, "same") + p[prefix + "/expansion_conv/bias"]
    return y + e


def _main_block(x, p, prefix):
    y = separable(np.maximum(x, 0), p, prefix + "/separable_conv0")
    y = separable(np.maximum(y, 0), p, prefix + "/separable_conv1")
    y = separable(np.maximum(y, 0), p, prefix + "/separable_conv2")
    return y + x


def agegender_forward(p, x):
    """x (N,112,112,3) 0..255 -> named activations; 'age' (N,), 'gender' (N,2) softmax [male, female]."""
    acts = {}
    h = normalize(x)
    acts["input"] = h
    h = np.maximum(conv2d(h, p["entry_flow/conv_in/filters"], 2, "same") + p["entry_flow/conv_in/bias"], 0)
    acts["conv_in"] = h
    h = _reduction(h, p, "entry_flow/reduction_block_0", False)
    acts["reduction_block_0"] = h
    h = _reduction(h, p, "entry_flow/reduction_block_1", True)
    acts["reduction_block_1"] = h
    for i in range(2):
        h = _main_block(h, p, f"middle_flow/main_block_{i}")
        acts[f"main_block_{i}"] = h
    h = _reduction(h, p, "exit_flow/reduction_block", True)
    acts["exit_reduction_block"] = h
    h = np.maximum(separable(h, p, "exit_flow/separable_conv"), 0)
    acts["exit_separable_conv"] = h
    g = avg_pool_valid(h, 7, 2).reshape(h.shape[0], -1)
    acts["avg_pool"] = g
    acts["age"] = (g @ p["fc/age/weights"].astype(np.float64) + p["fc/age/bias"])[:, 0]
    logits = g @ p["fc/gender/weights"].astype(np.float64) + p["fc/gender/bias"]
    acts["gender_logits"] = logits
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    acts["gender"] = e / e.sum(axis=1, keepdims=True)
    return acts
