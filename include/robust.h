/* robust.h - the C interface of librobust.so.
 *
 * robust trains and runs CIFAR-style image classifiers and tells its users when their data
 * cannot be trusted: how sure a model is about an image (probabilities, softmax entropy, top-2
 * margin), whether an image contradicts the label or metadata claimed for it, and whether an
 * upload should be accepted, reviewed or rejected. This header is plain C99, usable from C++.
 *
 * Conventions, kept by every function:
 *  - Errors. Every fallible function returns an int status: ROBUST_OK (0) or a ROBUST_ERR_*
 *    code. After a failure, robust_last_error() gives a human-readable message on the same
 *    thread (naming the file and the problem where there is one). Nothing aborts the process.
 *  - Out-parameters are written only when the function returns ROBUST_OK.
 *  - Ownership. Handles are created by robust_*_load* and released by the matching *_free,
 *    which accepts NULL. Strings the library returns are owned by the library: by the model
 *    handle they came from (valid until robust_model_free) or static (valid forever). Buffers
 *    the caller passes in remain the caller's; the library never keeps a pointer to them
 *    after the call returns.
 *  - Threads. A model handle may be used by any number of threads at once for scoring,
 *    conflict checks and gating (each call borrows its own copy of the network's working
 *    memory; the results are identical whatever the thread, unless adaptive workers were
 *    turned on where robust_blas_split_invariant() is 0: then the last bits may differ).
 *    robust_model_free must not race with other calls on the same handle. Configuration setters (robust_set_num_threads,
 *    robust_model_set_max_pixels) must not race with scoring.
 *  - Images are 8-bit RGB. Inputs of any size are resized to the model's input (32x32 for
 *    CIFAR models) with Pillow's BILINEAR filter (a triangle filter whose support widens when
 *    shrinking, so downscaling averages instead of aliasing), then normalized as the model
 *    file records.
 */
#ifndef ROBUST_H
#define ROBUST_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ROBUST_VERSION_MAJOR 0
#define ROBUST_VERSION_MINOR 2
#define ROBUST_VERSION_PATCH 0
#define ROBUST_VERSION "0.2.0"

/* ---- Status codes --------------------------------------------------------------------- */

#define ROBUST_OK 0
#define ROBUST_ERR_INVALID_ARGUMENT 1 /* NULL pointer, bad size, index out of range          */
#define ROBUST_ERR_IO 2               /* a file cannot be opened or read                     */
#define ROBUST_ERR_MODEL_FORMAT 3     /* not a valid model file (not safetensors, missing or
                                         misshapen tensors, header past the end, ...)        */
#define ROBUST_ERR_IMAGE 4            /* not a decodable PNG/JPEG: truncated, corrupt, empty,
                                         zero-sized, or above the pixel cap                  */
#define ROBUST_ERR_UNKNOWN_CLASS 5    /* a class name the model does not have                */
#define ROBUST_ERR_INTERNAL 6         /* a bug in robust: please report it                   */

/* The library's version, "MAJOR.MINOR.PATCH". Static string: do not free. Thread-safe.
 * Compare with ROBUST_VERSION to detect a header/library mismatch. */
const char *robust_version(void);

/* The message of the last failing call made by this thread, or "" if none failed yet.
 * Owned by the library, valid until the next failing call on this thread. Thread-safe
 * (each thread has its own message). */
const char *robust_last_error(void);

/* Worker threads each call may use (default: the number of cores, or ROBUST_NUM_THREADS).
 * n < 1 is ROBUST_ERR_INVALID_ARGUMENT. Global: do not call while other threads score. */
int robust_set_num_threads(int n);
int robust_get_num_threads(void);

/* Single-image calls time themselves and run on one worker or on all the workers above,
 * whichever has been faster in recent calls. Why: where the cores are sometimes shared (VMs,
 * hyperthreads, another thread pool in the process) the second thread can cost more than it
 * brings; the measured choice costs about 0.5% where it is not needed. On by default where
 * robust_blas_split_invariant() is 1, so scores are bit-identical on either arm; off by default
 * elsewhere, so the same image always gets the same bits in a process (a gate must not flip
 * its decision because the chooser switched). ROBUST_ADAPTIVE_WORKERS=0 starts with it off,
 * any other non-empty value on. Turned on where the BLAS is not split-invariant, the two arms'
 * scores differ in the last bits (relative 1e-6 or less). on: 0 off, anything else on.
 * Global: do not call while other threads score. Returns ROBUST_OK. */
int robust_set_adaptive_workers(int on);
/* 1 when single-image calls choose their worker count by measurement, else 0. The first call
 * in a process may run the BLAS probe below (about 10 ms). Thread-safe. */
int robust_get_adaptive_workers(void);
/* 1 when the BLAS gives every element of a product the same bits however the product is cut
 * into calls, so results do not depend on the worker count; else 0 (measured: OpenBLAS 0.3.21
 * on AMD Zen 5, a CPU family it does not know, whose Haswell kernels it picks, 0). Probed once
 * per process on first use (about 10 ms), on cuts stricter than the engine's: it errs towards
 * 0. Thread-safe. */
int robust_blas_split_invariant(void);

/* ---- Models --------------------------------------------------------------------------- */

typedef struct robust_model robust_model; /* opaque */

/* Loads a model from a safetensors file (written by robust, or a PyTorch state_dict of the
 * architecture saved with safetensors.torch.save_file): a ResNet-18 ("resnet18-cifar") or a
 * FusionNet ("fusionnet-cifar": ResNet-18 image encoder + metadata branch; every scoring and
 * gating call then uses its image-only path, robust_check_conflict also its fused one). On success *out receives a new
 * handle, owned by the caller: release it with robust_model_free.
 * Errors: ROBUST_ERR_INVALID_ARGUMENT (NULL), ROBUST_ERR_IO, ROBUST_ERR_MODEL_FORMAT. */
int robust_model_load(const char *path, robust_model **out);

/* The same from a buffer of `size` bytes (copied: the caller may free it afterwards). */
int robust_model_load_memory(const void *data, size_t size, robust_model **out);

/* Releases a model and every string obtained from it. NULL is accepted. Must not race with
 * other calls using the same handle. */
void robust_model_free(robust_model *model);

typedef struct robust_model_info {
    const char *architecture; /* "resnet18-cifar" or "fusionnet-cifar"; owned by the model  */
    int32_t width;            /* ResNet-18 width multiplier w (stages w, 2w, 4w, 8w)        */
    int32_t num_classes;
    int32_t input_size;       /* images are resized to input_size x input_size              */
    int32_t has_metadata;     /* 1 for models with a metadata branch (FusionNet), else 0    */
} robust_model_info;

/* Fills *out. Thread-safe. Errors: ROBUST_ERR_INVALID_ARGUMENT (NULL). */
int robust_model_get_info(const robust_model *model, robust_model_info *out);

/* Name of class `index`, owned by the model; NULL when model is NULL or index is out of
 * range (robust_last_error then says why). Thread-safe. */
const char *robust_model_class_name(const robust_model *model, int32_t index);

/* Index of a class given by name (exact, or case-insensitive when unambiguous) or as a
 * decimal index. Errors: ROBUST_ERR_INVALID_ARGUMENT (NULL), ROBUST_ERR_UNKNOWN_CLASS (the
 * message lists the model's classes). Thread-safe. */
int robust_model_class_index(const robust_model *model, const char *name, int32_t *out_index);

/* Images with more pixels than this are refused before their pixels are decoded
 * (decompression bombs); default 67,108,864 (64 Mpx), at most 268,435,456 (else
 * ROBUST_ERR_INVALID_ARGUMENT). Scoring one image needs about 3 bytes per pixel beyond its
 * encoded bytes (and one copy of them) and the model (decoded RGB; measured by
 * examples/c/peak_memory: 195.7 MiB for a
 * 64 Mpx PNG), so the cap bounds a call's memory. Do not call while scoring. */
int robust_model_set_max_pixels(robust_model *model, uint64_t max_pixels);

/* ---- Image quality (no model needed) -------------------------------------------------- */

/* Why an image's quality was flagged (robust_quality.flags), a bit set. */
#define ROBUST_QUALITY_NOISY 0x1u            /* detail above noisy_above                      */
#define ROBUST_QUALITY_BLURRY 0x2u           /* detail below blurry_below                     */
#define ROBUST_QUALITY_DARK 0x4u             /* brightness below dark_below                   */
#define ROBUST_QUALITY_LIGHT 0x8u            /* brightness above light_above                  */
#define ROBUST_QUALITY_LOW_INFORMATION 0x10u /* entropy_bits below low_information_below      */

/* Thresholds, calibrated on clean images (audit-cli quality DIR --calibrate FILE writes them).
 * robust_quality_thresholds_default gives the ones calibrated on CIFAR-10's 50,000 training
 * images, each leaving out 1% (noise, blur) or 0.5% (exposure, information) of them. */
typedef struct robust_quality_thresholds {
    float noisy_above;           /* detail above this: noisy (CIFAR-10: 0.0369)              */
    float blurry_below;          /* detail below this: blurred (0.00441)                     */
    float dark_below;            /* mean luminance below this: dark (0.174)                  */
    float light_above;           /* mean luminance above this: light (0.842)                 */
    float low_information_below; /* luminance entropy in bits below this (4.69)              */
    int32_t image_size;          /* measured after resizing to image_size^2 as the calibration
                                    images were (32); 0: at the image's own size             */
} robust_quality_thresholds;

/* An image's quality measures, all on luminance in [0, 1] (ITU-R 601 weights). */
typedef struct robust_quality {
    float detail;       /* fine-detail level: Immerkaer's noise estimate (about sigma for
                           Gaussian noise); high means noisy, low means blurred            */
    float sharpness;    /* variance of the Laplacian (the classic blur score)              */
    float brightness;   /* mean luminance                                                  */
    float contrast;     /* standard deviation of luminance                                 */
    float entropy_bits; /* entropy of the 8-bit luminance histogram, 0..8                  */
    uint64_t hash;      /* 64-bit difference hash: near-duplicates differ in few bits      */
    uint32_t flags;     /* ROBUST_QUALITY_* bits under the thresholds used; 0 when fine    */
} robust_quality;

/* Writes the CIFAR-10 thresholds. NULL is ignored. Thread-safe. */
void robust_quality_thresholds_default(robust_quality_thresholds *out);

/* Reads a calibration file (JSON from audit-cli quality --calibrate). Errors: ROBUST_ERR_IO
 * (unreadable), ROBUST_ERR_INVALID_ARGUMENT (not a calibration file, or NULL). Thread-safe. */
int robust_quality_thresholds_load(const char *path, robust_quality_thresholds *out);

/* Quality of PNG/JPEG bytes, or of raw RGB pixels (rows row_stride bytes apart, 0 meaning
 * width * 3). thresholds: NULL for the defaults. max_pixels: the decompression-bomb cap for
 * encoded images (0: 67,108,864; at most 268,435,456). Errors: ROBUST_ERR_INVALID_ARGUMENT (NULL, sizes, thresholds
 * not finite or out of order), ROBUST_ERR_IMAGE (not decodable, over the cap). Nothing is
 * written to out on error. Thread-safe and reentrant. */
int robust_quality_encoded(const void *data, size_t size, uint64_t max_pixels,
                           const robust_quality_thresholds *thresholds, robust_quality *out);
int robust_quality_rgb(const uint8_t *rgb, int32_t width, int32_t height, size_t row_stride,
                       const robust_quality_thresholds *thresholds, robust_quality *out);

/* "noisy", "blurry", "dark", "light", "low_information" for a single ROBUST_QUALITY_* bit;
 * NULL for anything else. Static strings. Thread-safe. */
const char *robust_quality_flag_name(uint32_t bit);

/* ---- Scores --------------------------------------------------------------------------- */

#define ROBUST_NO_CLAIM (-1)

/* Image versus claimed label (robust_score.verdict, robust_conflict.verdict). */
#define ROBUST_VERDICT_NONE (-1)     /* no claim was given                                   */
#define ROBUST_VERDICT_CONSISTENT 0  /* the claim is the top class, or has p >= consistent_probability */
#define ROBUST_VERDICT_CONFLICT 1    /* another class has p >= conflict_confidence and the claim
                                        p <= conflict_probability                            */
#define ROBUST_VERDICT_UNCERTAIN 2   /* neither                                              */

typedef struct robust_score {
    int32_t predicted_class;
    const char *predicted_name;  /* owned by the model                                       */
    float confidence;            /* probability of predicted_class                           */
    float entropy;               /* softmax entropy, nats                                    */
    float entropy_normalized;    /* entropy / ln(num_classes), in [0, 1]                     */
    float margin;                /* p(top-1) - p(top-2)                                      */
    int32_t claimed_class;       /* ROBUST_NO_CLAIM when no claim was given                  */
    float claimed_probability;   /* probability of claimed_class; -1 without a claim         */
    int32_t verdict;             /* ROBUST_VERDICT_*                                          */
    int32_t num_classes;
} robust_score;

/* Thresholds of verdicts and gating. Start from robust_policy_default and change fields. */
typedef struct robust_policy {
    float consistent_probability; /* 0.5                                                      */
    float conflict_confidence;    /* 0.5                                                      */
    float conflict_probability;   /* 0.1                                                      */
    float max_entropy_normalized; /* gate: review above this (0.6)                            */
    float min_confidence;         /* gate: review below this (0.3)                            */
    int32_t check_quality;        /* gate: review images `quality` flags (1; 0 skips the check) */
    robust_quality_thresholds quality; /* gate: image-quality thresholds (CIFAR-10's)         */
} robust_policy;

/* Writes the default thresholds. NULL is ignored. Thread-safe. */
void robust_policy_default(robust_policy *out);

/* Scoring. Common parameters:
 *   claimed      class index the image is claimed to show, or ROBUST_NO_CLAIM;
 *   policy       verdict thresholds, or NULL for the defaults;
 *   out          receives the score;
 *   probs        NULL, or room for probs_capacity floats: receives all num_classes
 *                probabilities (probs_capacity < num_classes is ROBUST_ERR_INVALID_ARGUMENT).
 * Errors: ROBUST_ERR_INVALID_ARGUMENT (NULL model/out, claimed out of range, bad sizes),
 * ROBUST_ERR_IO (file), ROBUST_ERR_IMAGE (not a decodable image, zero-sized, over the cap).
 * Thread-safe and reentrant. */
int robust_score_file(const robust_model *model, const char *path, int32_t claimed,
                      const robust_policy *policy, robust_score *out, float *probs, size_t probs_capacity);

/* PNG or JPEG bytes (`size` bytes at `data`), detected by signature. */
int robust_score_encoded(const robust_model *model, const void *data, size_t size, int32_t claimed,
                         const robust_policy *policy, robust_score *out, float *probs, size_t probs_capacity);

/* Raw pixels: height rows of width RGB triples, rows row_stride bytes apart (0 means
 * width * 3). Any size up to the pixel cap. */
int robust_score_rgb(const robust_model *model, const uint8_t *rgb, int32_t width, int32_t height,
                     size_t row_stride, int32_t claimed, const robust_policy *policy,
                     robust_score *out, float *probs, size_t probs_capacity);

/* A batch of `count` images of the same size, packed (count x height x width x 3 bytes, as a
 * numpy uint8 array [N, H, W, 3]). claimed: NULL or `count` entries (ROBUST_NO_CLAIM allowed).
 * out: `count` scores. probs: NULL or room for count * num_classes floats (row i = image i).
 * count is at most 4096; scoring a batch is faster per image than one at a time. */
int robust_score_rgb_batch(const robust_model *model, const uint8_t *rgb, int32_t count, int32_t width,
                           int32_t height, const int32_t *claimed, const robust_policy *policy,
                           robust_score *out, float *probs, size_t probs_capacity);

/* Softmax entropy of a caller's probability vector (any model's output): nats, and divided by
 * ln(n). The vector must be finite, non-negative and sum to 1 within 1e-3, else
 * ROBUST_ERR_INVALID_ARGUMENT. out_normalized may be NULL. Thread-safe. */
int robust_entropy(const float *probs, size_t n, float *out_nats, float *out_normalized);

/* ---- Modality conflict ---------------------------------------------------------------- */

typedef struct robust_conflict {
    int32_t verdict;             /* ROBUST_VERDICT_CONSISTENT / _CONFLICT / _UNCERTAIN         */
    int32_t image_class;         /* what the image alone shows                                */
    const char *image_name;      /* owned by the model                                        */
    float image_confidence;
    int32_t claimed_class;
    float claimed_probability;   /* the image-only path's probability of the claim            */
    int32_t fused_class;         /* a FusionNet's prediction from image and claim together;
                                    -1 for a ResNet-18 (no metadata branch)                  */
} robust_conflict;

/* Does the image (PNG/JPEG bytes) agree with the claimed metadata, a class name or decimal
 * index? The verdict always comes from the image alone: a ResNet-18's output, or a
 * FusionNet's image-only path (the claim withheld as "missing"), so that a claim cannot vouch
 * for itself; a FusionNet's fused prediction is reported beside it (fused_class), showing
 * whether the model would have followed the claim. Errors as robust_score_encoded, plus
 * ROBUST_ERR_UNKNOWN_CLASS. Thread-safe. */
int robust_check_conflict(const robust_model *model, const void *data, size_t size, const char *claimed,
                          const robust_policy *policy, robust_conflict *out);

/* ---- Gating uploads ------------------------------------------------------------------- */

#define ROBUST_ACCEPT 0
#define ROBUST_REVIEW 1
#define ROBUST_REJECT 2

/* Reasons, a bit set (robust_gate_result.reasons). */
#define ROBUST_REASON_UNREADABLE 0x1u      /* not a decodable PNG/JPEG (or over the cap): reject */
#define ROBUST_REASON_LABEL_CONFLICT 0x2u  /* verdict conflict: reject                          */
#define ROBUST_REASON_LABEL_UNCERTAIN 0x4u /* verdict uncertain: review                         */
#define ROBUST_REASON_HIGH_ENTROPY 0x8u    /* entropy_normalized > max_entropy_normalized: review */
#define ROBUST_REASON_LOW_CONFIDENCE 0x10u /* confidence < min_confidence: review               */
#define ROBUST_REASON_NOISY 0x20u           /* quality: noisy (policy.check_quality): review    */
#define ROBUST_REASON_BLURRY 0x40u          /* quality: blurred: review                          */
#define ROBUST_REASON_BAD_EXPOSURE 0x80u    /* quality: dark or light: review                    */
#define ROBUST_REASON_LOW_INFORMATION 0x100u /* quality: nearly empty: review                    */

typedef struct robust_gate_result {
    int32_t decision;     /* ROBUST_ACCEPT / ROBUST_REVIEW / ROBUST_REJECT                     */
    uint32_t reasons;     /* ROBUST_REASON_* bits; 0 when accepted                             */
    int32_t scored;       /* 1 when `score` is filled (the image decoded), else 0              */
    robust_score score;
    int32_t quality_checked; /* 1 when `quality` is filled (decoded, policy.check_quality)   */
    robust_quality quality;
} robust_gate_result;

/* One call for an upload: PNG/JPEG bytes and an optional claimed class (name or decimal index;
 * NULL for none). Undecodable bytes are not an error here: the result is ROBUST_REJECT with
 * ROBUST_REASON_UNREADABLE. Errors: ROBUST_ERR_INVALID_ARGUMENT, ROBUST_ERR_UNKNOWN_CLASS.
 * Thread-safe. */
int robust_gate(const robust_model *model, const void *data, size_t size, const char *claimed,
                const robust_policy *policy, robust_gate_result *out);

/* "accept", "review", "reject" for a decision, "unreadable", "label_conflict", ... for a single
 * reason bit; NULL for anything else. Static strings. Thread-safe. */
const char *robust_decision_name(int32_t decision);
const char *robust_reason_name(uint32_t reason_bit);

#ifdef __cplusplus
}
#endif
#endif /* ROBUST_H */
