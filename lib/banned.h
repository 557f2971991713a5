/*
 * banned: functions that are easy to misuse and have a safer neighbour here.
 * Included last by every .c file of hv, so a use fails to compile.
 */
#ifndef HV_BANNED_H
#define HV_BANNED_H

#define HV_BANNED(f) sorry_##f##_is_banned_in_hv

#undef strcpy
#define strcpy(a, b) HV_BANNED(strcpy)
#undef strcat
#define strcat(a, b) HV_BANNED(strcat)
#undef strncpy
#define strncpy(a, b, n) HV_BANNED(strncpy)
#undef sprintf
#define sprintf(...) HV_BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) HV_BANNED(vsprintf)
#undef strtok
#define strtok(a, b) HV_BANNED(strtok)
#undef atoi
#define atoi(a) HV_BANNED(atoi)
#undef atol
#define atol(a) HV_BANNED(atol)
#undef gmtime
#define gmtime(t) HV_BANNED(gmtime)
#undef localtime
#define localtime(t) HV_BANNED(localtime)
#undef gets
#define gets(s) HV_BANNED(gets)

#endif
