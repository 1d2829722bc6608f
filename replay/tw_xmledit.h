/* Minimal, targeted edits of MuJoCo's canonical XML (as written by mj_saveLastXML); internal to replay/. */
#ifndef TW_XMLEDIT_H
#define TW_XMLEDIT_H
#include <stddef.h>
/* Reads a whole text file (at most 64 MiB) into a new NUL-terminated buffer the caller frees. */
int tw_xml_read_file(const char *path, char **out, char *msg, size_t msgsz);
/* Makes <compiler> meshdir/texturedir absolute against base (adding them, or the tag, when absent). */
int tw_xml_absolutize_dirs(char **xml, const char *base, char *msg, size_t msgsz);
/* Inserts `frag` as the first children of <body name="NAME">. */
int tw_xml_insert_in_body(char **xml, const char *name, const char *frag, char *msg, size_t msgsz);
/* Inserts `frag` before the closing </mujoco>. */
int tw_xml_insert_before_end(char **xml, const char *frag, char *msg, size_t msgsz);
#endif
