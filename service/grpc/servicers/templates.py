"""TemplateService: template versions, previews and the seller (SPEC §7); thin over TemplateBook."""
from billing.v1 import template_pb2, template_pb2_grpc
from domain.errors import InvalidArgument
from service.grpc import paging
from service.grpc.converters import page_size
from service.grpc.errors import mapped
from service.grpc.template_converters import pdf_to_proto, seller_from_proto, seller_to_proto, template_to_proto
from service.usecases.rendering import Rendering
from service.usecases.templates import Templates


class TemplateServicer(template_pb2_grpc.TemplateServiceServicer):
    def __init__(self, templates: Templates, rendering: Rendering):
        self.templates = templates
        self.rendering = rendering

    @mapped
    def UploadTemplate(self, request, context):
        view = self.templates.upload(request.name, request.source, request.logo, request.make_default)
        return template_to_proto(view)

    @mapped
    def GetTemplate(self, request, context):
        return template_to_proto(self.templates.get(request.version))

    @mapped
    def ListTemplates(self, request, context):
        size = page_size(request.page_size)
        views, more = self.templates.page(_after(request.page_token), size)
        token = paging.encode({"after": views[-1].version}) if more else ""
        return template_pb2.ListTemplatesResponse(templates=[template_to_proto(v) for v in views],
                                                  next_page_token=token)

    @mapped
    def SetDefaultTemplate(self, request, context):
        return template_to_proto(self.templates.set_default(request.version))

    @mapped
    def PreviewTemplatePdf(self, request, context):
        which = request.WhichOneof("template")
        if which is None:
            raise InvalidArgument("template", "set source (unsaved text) or version (a stored version)")
        if which == "source":
            return pdf_to_proto(self.rendering.preview_source(request.source))
        return pdf_to_proto(self.rendering.preview_version(request.version))

    @mapped
    def GetSeller(self, request, context):
        return seller_to_proto(*self.templates.seller())

    @mapped
    def UpdateSeller(self, request, context):
        return seller_to_proto(*self.templates.update_seller_fields(*seller_from_proto(request)))


def _after(token: str) -> int:
    """The last version of the previous page (-1 = start with the built-in version 0)."""
    after = (paging.decode(token, ("after",)) or {"after": -1})["after"]
    if not isinstance(after, int) or isinstance(after, bool) or after < -1:
        raise InvalidArgument("page_token", "not a token this server issued")
    return after
