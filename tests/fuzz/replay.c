/* replay.c - run a libFuzzer target over corpus files without libFuzzer (a TAP test). */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int n;

static void run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *data;
	long len;

	if (!f || fseek(f, 0, SEEK_END) || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
		printf("not ok %d - cannot read %s\n", ++n, path);
		if (f)
			fclose(f);
		return;
	}
	data = malloc((size_t)len + 1);
	if (!data || fread(data, 1, (size_t)len, f) != (size_t)len) {
		printf("not ok %d - cannot read %s\n", ++n, path);
		fclose(f);
		free(data);
		return;
	}
	fclose(f);
	/* A crash or sanitizer report aborts the run, which prove reports as a failure. */
	LLVMFuzzerTestOneInput(data, (size_t)len);
	free(data);
	printf("ok %d - %s\n", ++n, path);
	fflush(stdout);
}

static void run_path(const char *path)
{
	struct stat st;
	struct dirent **ents;
	int k;

	if (stat(path, &st) < 0) {
		printf("not ok %d - %s: missing\n", ++n, path);
		return;
	}
	if (!S_ISDIR(st.st_mode)) {
		run_file(path);
		return;
	}
	k = scandir(path, &ents, NULL, alphasort);
	for (int i = 0; i < k; i++) {
		if (ents[i]->d_name[0] != '.') {
			char sub[4096];

			snprintf(sub, sizeof(sub), "%s/%s", path, ents[i]->d_name);
			run_path(sub);
		}
		free(ents[i]);
	}
	if (k >= 0)
		free(ents);
}

/*
 * Usage: fuzz-NAME [FILE|DIR...]; with no arguments it replays
 * $SF_ROOT/tests/fuzz/corpus/NAME (NAME from argv[0]).
 */
int main(int argc, char **argv)
{
	if (argc > 1) {
		for (int i = 1; i < argc; i++)
			run_path(argv[i]);
	} else {
		const char *root = getenv("SF_ROOT");
		const char *base = strrchr(argv[0], '/');
		char dir[4096];

		base = base ? base + 1 : argv[0];
		if (!strncmp(base, "fuzz-", 5))
			base += 5;
		snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus/%s", root ? root : ".", base);
		run_path(dir);
	}
	if (n == 0)
		printf("not ok 1 - empty corpus\n"), n = 1;
	printf("1..%d\n", n);
	return 0;
}
