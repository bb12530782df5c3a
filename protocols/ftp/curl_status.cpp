#include "curl_status.hpp"

namespace ntx::ftp {

ntx_status_t status_for(CURLcode code) noexcept {
    switch (code) {
    case CURLE_OK:
        return NTX_OK;
    case CURLE_LOGIN_DENIED:
        return NTX_E_DENIED;
    case CURLE_COULDNT_CONNECT:
    case CURLE_FTP_ACCEPT_FAILED:
    case CURLE_FTP_ACCEPT_TIMEOUT:
    case CURLE_FTP_CANT_GET_HOST:
    case CURLE_INTERFACE_FAILED:
        return NTX_E_CONNECT;
    case CURLE_COULDNT_RESOLVE_HOST:
        return NTX_E_RESOLVE;
    case CURLE_REMOTE_FILE_NOT_FOUND:
    case CURLE_REMOTE_ACCESS_DENIED:
    case CURLE_FTP_COULDNT_RETR_FILE:
    case CURLE_UPLOAD_FAILED:
    case CURLE_QUOTE_ERROR:
    case CURLE_FTP_PORT_FAILED:
    case CURLE_FTP_COULDNT_SET_TYPE:
    case CURLE_FTP_COULDNT_USE_REST:
    case CURLE_FTP_PRET_FAILED:
    case CURLE_REMOTE_DISK_FULL:
    case CURLE_REMOTE_FILE_EXISTS:
        return NTX_E_STATUS;
    case CURLE_OPERATION_TIMEDOUT:
        return NTX_E_TIMEOUT;
    case CURLE_PARTIAL_FILE:
    case CURLE_GOT_NOTHING:
        return NTX_E_CLOSED;
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_FTP_WEIRD_PASV_REPLY:
    case CURLE_FTP_WEIRD_227_FORMAT:
    case CURLE_FTP_BAD_FILE_LIST:
    case CURLE_BAD_DOWNLOAD_RESUME:
        return NTX_E_PROTOCOL;
    case CURLE_URL_MALFORMAT:
    case CURLE_BAD_FUNCTION_ARGUMENT:
        return NTX_E_INVALID;
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_NOT_BUILT_IN:
        return NTX_E_UNSUPPORTED;
    case CURLE_OUT_OF_MEMORY:
        return NTX_E_NOMEM;
    case CURLE_FILESIZE_EXCEEDED:
        return NTX_E_LIMIT;
    case CURLE_ABORTED_BY_CALLBACK:
        return NTX_E_INTERNAL;
    default:  // CURLE_SEND_ERROR, CURLE_RECV_ERROR, CURLE_READ_ERROR, CURLE_WRITE_ERROR, ...
        return NTX_E_IO;
    }
}

}  // namespace ntx::ftp
