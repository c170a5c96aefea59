/* The plain-C parts of librobust.so: the per-thread error message, default policy and names.
 * Everything that touches a model is Swift (Sources/CRobust). */
#include <stdio.h>
#include <string.h>
#include "robust.h"
#include "robust_internal.h"

/* Each thread's last error. A fixed buffer: nothing to free when a thread exits. */
static _Thread_local char last_error[1024];

const char *robust_last_error(void) { return last_error; }

int rbi_fail(int status, const char *message) {
    snprintf(last_error, sizeof last_error, "%s", message ? message : "");
    return status;
}

void robust_policy_default(robust_policy *out) {
    if (!out) return;
    out->consistent_probability = 0.5f;
    out->conflict_confidence = 0.5f;
    out->conflict_probability = 0.1f;
    out->max_entropy_normalized = 0.6f;
    out->min_confidence = 0.3f;
    out->check_quality = 1;
    robust_quality_thresholds_default(&out->quality); /* Swift: RobustCore's CIFAR-10 calibration */
}

const char *robust_decision_name(int32_t decision) {
    switch (decision) {
    case ROBUST_ACCEPT: return "accept";
    case ROBUST_REVIEW: return "review";
    case ROBUST_REJECT: return "reject";
    default: return NULL;
    }
}

const char *robust_reason_name(uint32_t reason) {
    switch (reason) {
    case ROBUST_REASON_UNREADABLE: return "unreadable";
    case ROBUST_REASON_LABEL_CONFLICT: return "label_conflict";
    case ROBUST_REASON_LABEL_UNCERTAIN: return "label_uncertain";
    case ROBUST_REASON_HIGH_ENTROPY: return "high_entropy";
    case ROBUST_REASON_LOW_CONFIDENCE: return "low_confidence";
    case ROBUST_REASON_NOISY: return "noisy";
    case ROBUST_REASON_BLURRY: return "blurry";
    case ROBUST_REASON_BAD_EXPOSURE: return "bad_exposure";
    case ROBUST_REASON_LOW_INFORMATION: return "low_information";
    default: return NULL;
    }
}

const char *robust_quality_flag_name(uint32_t bit) {
    switch (bit) {
    case ROBUST_QUALITY_NOISY: return "noisy";
    case ROBUST_QUALITY_BLURRY: return "blurry";
    case ROBUST_QUALITY_DARK: return "dark";
    case ROBUST_QUALITY_LIGHT: return "light";
    case ROBUST_QUALITY_LOW_INFORMATION: return "low_information";
    default: return NULL;
    }
}
