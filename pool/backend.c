/* What every backend shares: the names of its errors. */
#include "pool/backend.h"

const char *backend_error_name(enum backend_error error)
{
    switch (error) {
    case BACKEND_OK:
        return "ok";
    case BACKEND_ENGINE_UNREACHABLE:
        return "engine_unreachable";
    case BACKEND_NOT_FOUND:
        return "not_found";
    case BACKEND_CONFLICT:
        return "conflict";
    case BACKEND_ENGINE_ERROR:
        return "engine_error";
    case BACKEND_BAD_RESPONSE:
        return "bad_response";
    case BACKEND_TOO_LARGE:
        return "response_too_large";
    case BACKEND_TIMEOUT:
        return "timeout";
    case BACKEND_CANCELLED:
        return "cancelled";
    case BACKEND_UNSUPPORTED:
        return "unsupported";
    }
    return "unknown";
}
