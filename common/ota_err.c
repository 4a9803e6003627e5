/* ota_err.c: text and name of each ota_err value, from OTA_ERR_TABLE (ota_err.h). */
#include "ota_err.h"

const char *ota_strerror(ota_err e)
{
    switch (e) {
#define OTA_ERR_TEXT_(name, value, text) case name: return text;
    OTA_ERR_TABLE(OTA_ERR_TEXT_)
#undef OTA_ERR_TEXT_
    case OTA_ERR_END_: break;
    }
    return "unknown error";
}

const char *ota_errname(int e)
{
    switch (e) {
#define OTA_ERR_NAME_(name, value, text) case value: return #name + (value ? 8 : 4);
    OTA_ERR_TABLE(OTA_ERR_NAME_)
#undef OTA_ERR_NAME_
    }
    return 0;
}
