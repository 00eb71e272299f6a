/* log.h - one-line log records on stderr (nginx error_log / journald collect them). */
#ifndef SF_LOG_H
#define SF_LOG_H

#include "err.h"

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/*
 * Format: 2026-11-22T03:17:00Z storefleet.fcgi[1234] warn: message
 * Control characters in the formatted message (CR, LF, ESC...) are replaced
 * by '?', so no outside value can forge a log line.  Never pass secrets.
 */
void log_init(const char *progname, enum log_level min);
void log_msg(enum log_level lvl, const char *fmt, ...) SF_PRINTF(2, 3);

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
